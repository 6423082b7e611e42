"""Ticket primitives: the rows of tickets, messages, contacts and their events.

Nothing here starts a clock or routes: ``apps.desk.actions`` (the one door every channel
and view uses) calls these primitives and then asks ``sla`` and ``routing``. Events are
announced to subscribers after commit (``apps.tickets.publish``).
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models.functions import Upper
from django.utils import timezone
from django.utils.translation import gettext as _
from modeltranslation.utils import build_localized_fieldname

from apps.accounts.names import display_name
from apps.policy.languages import Channel, Language, normalise_language
from apps.policy.services import region_for
from apps.tickets import search, vocabulary
from apps.tickets.models import (
    Attachment,
    CannedResponse,
    Contact,
    Message,
    SearchDocument,
    Ticket,
    TicketEvent,
    attachment_path,
    format_reference,
)
from apps.tickets.publish import announce_on_commit
from supportdesk.bulkupdate import update_rows
from supportdesk.text import one_line

Status = Ticket.Status

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.FORWARDED, Status.RESOLVED}),
    Status.OPEN: frozenset({Status.PENDING, Status.FORWARDED, Status.RESOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.FORWARDED, Status.RESOLVED}),
    Status.FORWARDED: frozenset({Status.OPEN, Status.RESOLVED}),
    # An owner reopening the issue in Jira, or the user writing again, puts it back with the owner.
    Status.RESOLVED: frozenset({Status.OPEN, Status.FORWARDED, Status.CLOSED}),
    Status.CLOSED: frozenset(),
}


class TicketError(ValueError):
    """A request the ticket rules refuse; the message is safe to show to the user."""


class InvalidTransition(TicketError):
    pass


@dataclass(frozen=True)
class Actor:
    """Who did something: a desk user, or a label such as ``system`` or a contact's address."""

    user: object | None = None
    label: str = ""

    @classmethod
    def system(cls) -> "Actor":
        return cls(label="system")


def log_event(*, ticket: Ticket, kind: str, actor: Actor | None = None, data=None,
              at: datetime | None = None) -> TicketEvent:
    return log_events([new_event(ticket=ticket, kind=kind, actor=actor, data=data, at=at)])[0]


def new_event(*, ticket: Ticket, kind: str, actor: Actor | None = None, data=None,
              at: datetime | None = None) -> TicketEvent:
    """An unsaved event, for ``log_events`` to write with others in one statement.

    ``data`` is the kind's shape in ``apps.tickets.vocabulary`` (or a dict of its keys; others are refused).
    """
    actor = actor or Actor.system()
    return TicketEvent(ticket=ticket, kind=kind, actor=actor.user, actor_label=actor.label,
                       data=vocabulary.stored_data(kind, data), created_at=at or timezone.now())


def log_events(events: list[TicketEvent]) -> list[TicketEvent]:
    """Write events in one statement; consoles hear of them once the transaction commits."""
    if events:
        TicketEvent.objects.bulk_create(events)
        announce_on_commit([event.pk for event in events])
    return events


def check_channel(channel: str) -> None:
    if channel not in Channel.values:
        raise TicketError(_("Unknown channel %(channel)s.") % {"channel": channel})


def check_language(language: str) -> str:
    try:
        return normalise_language(language)
    except ValueError as error:
        raise TicketError(_("Unsupported language %(language)s.") % {"language": language}) from error


@dataclass
class NewTicket:
    """What a channel knows when it opens a ticket; see ``open_tickets``."""

    channel: str
    contact: Contact
    subject: str
    body: str = ""
    external_ref: str = ""
    language: str | None = None
    region: object = None
    body_html: str = ""
    external_id: str = ""
    received_at: datetime | None = None
    waiting_since: datetime | None = None
    extension: object = None
    actor: Actor | None = None
    unparsed: bool = False
    queue: object = None     # routing's choice, made by the action that opens the ticket


@dataclass(frozen=True)
class Opened:
    """A ticket ``open_tickets`` opened (``created``) or found by its external reference."""

    ticket: Ticket
    message: Message | None
    created: bool


@transaction.atomic
def open_tickets(requests: list[NewTicket]) -> list[Opened]:
    """Write many tickets in a few statements whatever their number: one result per request, in order.

    A ``(channel, external_ref)`` already on a ticket (or earlier in the list) gives that
    ticket; each new one gets its reference, the ``opened`` event and its first message.
    Clocks and routing are the action's (``apps.desk.actions.do_open_tickets``).
    """
    for request in requests:
        check_channel(request.channel)
    languages = [check_language(request.language or request.contact.language) for request in requests]
    found = _by_channel_and(Ticket, "external_ref", {(r.channel, r.external_ref) for r in requests if r.external_ref})
    results: list[Opened | Ticket] = []
    fresh: list[tuple[NewTicket, Ticket]] = []
    now = timezone.now()
    for request, language in zip(requests, languages):
        key = (request.channel, request.external_ref)
        if request.external_ref and key in found:
            results.append(found[key])
            continue
        ticket = Ticket(
            channel=request.channel, external_ref=request.external_ref, contact=request.contact,
            language=language,
            region=request.region or region_for(contact=request.contact, language=language),
            subject=request.subject[:300], received_at=request.received_at or now,
            extension=request.extension, queue=request.queue,
            unparsed=request.unparsed,
        )
        if request.external_ref:
            found[key] = ticket
        fresh.append((request, ticket))
        results.append(Opened(ticket=ticket, message=None, created=True))
    if not fresh:
        return [Opened(ticket=ticket, message=None, created=False) for ticket in results]
    tickets = [ticket for _request, ticket in fresh]
    Ticket.objects.bulk_create(tickets)
    for ticket in tickets:
        ticket.reference = format_reference(ticket.pk)
    update_rows(tickets, ["reference"])
    search.index_subjects(tickets)
    log_events([new_event(ticket=ticket, kind=TicketEvent.Kind.OPENED, at=ticket.received_at,
                          actor=request.actor or Actor(label=str(request.contact)),
                          data={"channel": ticket.channel, "language": ticket.language,
                                "region": ticket.region.slug if ticket.region else None})
                for request, ticket in fresh])
    said = [(request, ticket) for request, ticket in fresh if request.body or request.body_html or request.external_id]
    messages = {stored.message.ticket_id: stored.message for stored in add_messages([
        NewMessage(ticket=ticket, direction=Message.Direction.INBOUND, body=request.body,
                   body_html=request.body_html, author_contact=request.contact,
                   external_id=request.external_id, created_at=ticket.received_at)
        for request, ticket in said]) if stored.created}  # an external id filed elsewhere gives no first message
    return [Opened(ticket=result, message=None, created=False) if isinstance(result, Ticket) else
            Opened(ticket=result.ticket, message=messages.get(result.ticket.pk), created=True)
            for result in results]


def _by_channel_and(model, field: str, keys: set[tuple[str, str]]) -> dict:
    """The rows whose ``(channel, field)`` is one of ``keys``, by that pair (one query for all)."""
    if not keys:
        return {}
    rows = model.objects.filter(channel__in={channel for channel, _value in keys},
                                **{f"{field}__in": {value for _channel, value in keys}})
    return {(row.channel, getattr(row, field)): row for row in rows if (row.channel, getattr(row, field)) in keys}


@dataclass
class NewMessage:
    """A message to add; see ``add_messages``."""

    ticket: Ticket
    direction: str
    body: str
    body_html: str = ""
    author_user: object = None
    author_contact: Contact | None = None
    external_id: str = ""
    automatic: bool = False
    channel: str | None = None
    created_at: datetime | None = None
    history: bool = True
    shared_with_owner: bool = False     # a note the extension's owner may read (portal, Jira comment)
    reopen_to: str = Status.OPEN        # where a user's message moves a waiting or resolved ticket


@dataclass(frozen=True)
class Stored:
    """One ``add_messages`` result: the message, and whether this call wrote it."""

    message: Message
    created: bool


@transaction.atomic
def add_messages(items: list[NewMessage]) -> list[Stored]:
    """Write many messages in a few statements: one result per item, in order.

    An ``external_id`` already stored on the channel (or earlier in the list) gives that
    message, not a new one. A user's message reopens a waiting or resolved ticket; a
    person's outbound reply records the ticket's first response (the action meets the
    SLA clocks: ``responded``).
    """
    for item in items:
        if item.direction not in Message.Direction.values:
            raise TicketError(_("Unknown message direction %(direction)s.") % {"direction": item.direction})
    found = _by_channel_and(Message, "external_id", {(item.channel or item.ticket.channel, item.external_id)
                                                     for item in items if item.external_id})
    now = timezone.now()
    results, fresh = [], []
    for item in items:
        channel = item.channel or item.ticket.channel
        key = (channel, item.external_id)
        if item.external_id and key in found:
            results.append(Stored(found[key], created=False))
            continue
        message = Message(
            ticket=item.ticket, direction=item.direction, body_text=item.body, body_html=item.body_html,
            author_user=item.author_user, author_contact=item.author_contact, external_id=item.external_id,
            automatic=item.automatic, channel=channel, created_at=item.created_at or now,
            shared_with_owner=item.shared_with_owner and item.direction == Message.Direction.NOTE)
        if item.external_id:
            found[key] = message
        fresh.append((item, message))
        results.append(Stored(message, created=True))
    Message.objects.bulk_create([message for _item, message in fresh])
    search.index_messages([message for _item, message in fresh])
    log_events([new_event(ticket=item.ticket, kind=TicketEvent.Kind.MESSAGE, actor=_author(item),
                          at=message.created_at,
                          data={"message_id": message.pk, "direction": item.direction, "automatic": item.automatic})
                for item, message in fresh if item.history])
    for item, message in fresh:
        if responded(item):
            record_first_response(ticket=item.ticket, at=message.created_at, user=item.author_user)
        elif item.direction == Message.Direction.INBOUND and item.ticket.status in (Status.PENDING, Status.RESOLVED):
            # The user answered or came back: the ticket needs a person again.
            change_status(ticket=item.ticket, to=item.reopen_to, actor=_author(item), reason="user replied")
    return results


def responded(item: NewMessage) -> bool:
    """A person's outbound reply: it meets the first-response and acknowledgement clocks."""
    return item.direction == Message.Direction.OUTBOUND and not item.automatic and item.author_user is not None


def _author(item: NewMessage) -> Actor:
    if item.author_user:
        return Actor(user=item.author_user)
    return Actor(label=str(item.author_contact or "system"))


def record_first_response(*, ticket: Ticket, at: datetime, user) -> None:
    """A person first answered the user (a reply, or a call picked up): a new ticket becomes open."""
    fields = []
    if ticket.first_response_at is None:
        ticket.first_response_at = at
        fields.append("first_response_at")
    if ticket.acknowledged_at is None:
        ticket.acknowledged_at = at
        fields.append("acknowledged_at")
    if ticket.status == Status.NEW:
        change_status(ticket=ticket, to=Status.OPEN, actor=Actor(user=user))
    if fields:
        ticket.save(update_fields=[*fields, "updated_at"])


@transaction.atomic
def change_status(*, ticket: Ticket, to: str, actor: Actor | None = None, reason: str = "") -> Ticket:
    """Move a ticket along an allowed transition, or raise ``InvalidTransition``."""
    # Re-read under a row lock so two agents cannot both move the same old status.
    current = Ticket.objects.select_for_update().get(pk=ticket.pk)
    if to not in Status.values:
        raise InvalidTransition(_("Unknown status %(status)s.") % {"status": to})
    if to not in ALLOWED_TRANSITIONS[current.status]:
        raise InvalidTransition(
            _("A ticket cannot move from %(old)s to %(new)s.")
            % {"old": Status(current.status).label, "new": Status(to).label}
        )
    now = timezone.now()
    ticket.status = to
    # Reopening clears the resolution; closing keeps the moment it was resolved.
    ticket.resolved_at = {Status.RESOLVED: now, Status.CLOSED: current.resolved_at or now}.get(to)
    ticket.save(update_fields=["status", "resolved_at", "updated_at"])
    log_event(ticket=ticket, kind=TicketEvent.Kind.STATUS, actor=actor, at=now,
              data={"from": current.status, "to": to, **({"reason": reason} if reason else {})})
    return ticket


@transaction.atomic
def assign_ticket(*, ticket: Ticket, assignee, actor: Actor | None = None) -> Ticket:
    previous = ticket.assignee_id
    ticket.assignee = assignee
    ticket.save(update_fields=["assignee", "updated_at"])
    log_event(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED, actor=actor,
              data={"from": previous, "to": assignee.pk if assignee else None})
    return ticket


@transaction.atomic
def triage_ticket(*, ticket: Ticket, scope: str, category: str = "", extension=None,
                  language: str | None = None, queue=None, actor: Actor) -> bool:
    """Record an agent's triage (``queue``: routing's queue for a new language).

    Triage by a person acknowledges the ticket: returns whether this triage did.
    """
    if scope not in Ticket.Scope.values or scope == Ticket.Scope.UNTRIAGED:
        raise TicketError(_("Triage needs a scope: core or extension."))
    if category and category not in Ticket.Category.values:
        raise TicketError(_("Unknown category %(category)s.") % {"category": category})
    if scope == Ticket.Scope.EXTENSION and extension is None:
        raise TicketError(_("An extension ticket needs its extension."))
    if scope == Ticket.Scope.CORE:
        extension = None
    ticket.scope, ticket.category, ticket.extension = scope, category, extension
    relanguage = bool(language) and check_language(language) != ticket.language
    if language:
        ticket.language = check_language(language)
        ticket.queue = queue
    now = timezone.now()
    fields = ["scope", "category", "extension", "language", "queue", "updated_at"]
    acknowledged = ticket.acknowledged_at is None and actor.user is not None
    if acknowledged:
        ticket.acknowledged_at = now
        fields.append("acknowledged_at")
    ticket.save(update_fields=fields)
    if relanguage:
        search.relanguage(ticket=ticket)
    log_event(ticket=ticket, kind=TicketEvent.Kind.TRIAGED, actor=actor, at=now,
              data={"scope": scope, "category": category,
                    "extension": extension.slug if extension else None, "language": ticket.language})
    return acknowledged


@transaction.atomic
def return_to_triage(*, ticket: Ticket, queue, actor: Actor, reason: str) -> Ticket:
    """Undo an extension triage (the owner says the ticket is not theirs): untriaged, in ``queue``, unassigned."""
    extension = ticket.extension
    ticket.scope, ticket.category, ticket.extension, ticket.queue, ticket.assignee = (
        Ticket.Scope.UNTRIAGED, "", None, queue, None)
    ticket.save(update_fields=["scope", "category", "extension", "queue", "assignee", "updated_at"])
    log_event(ticket=ticket, kind=TicketEvent.Kind.TRIAGED, actor=actor,
              data={"scope": Ticket.Scope.UNTRIAGED, "returned_from": extension.slug if extension else None,
                    "reason": reason})
    return ticket


@transaction.atomic
def claim_tickets(claims: list[tuple[Ticket, object]], *, actor: Actor) -> list[tuple[Ticket, object]]:
    """Assign unassigned tickets, each ``(ticket, user)`` to its user; returns the claims won.

    Of two racing claims on a ticket exactly one wins: the rows are locked and read unassigned
    before they are given, one statement per user.
    """
    now, won = timezone.now(), []
    users = {user.pk: user for _ticket, user in claims}
    for user in users.values():
        mine = {ticket.pk: ticket for ticket, owner in claims if owner.pk == user.pk}
        free = list(Ticket.objects.select_for_update().filter(pk__in=mine, assignee__isnull=True)
                    .values_list("pk", flat=True))
        Ticket.objects.filter(pk__in=free).update(assignee=user, updated_at=now)
        for pk in free:
            mine[pk].assignee, mine[pk].updated_at = user, now
            won.append((mine[pk], user))
    log_events([new_event(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED, actor=actor,
                          data={"from": None, "to": user.pk, "to_name": display_name(user)}) for ticket, user in won])
    return won


@transaction.atomic
def hand_over(*, ticket: Ticket, to_agent, to_queue, actor: Actor) -> Ticket:
    """Give a ticket to another agent, or back to a queue unassigned (``to_agent`` None)."""
    previous = ticket.assignee_id
    fields = {"assignee": to_agent, "updated_at": timezone.now()}
    if to_queue is not None:
        fields["queue"] = to_queue
    Ticket.objects.filter(pk=ticket.pk).update(**fields)
    for name, value in fields.items():
        setattr(ticket, name, value)
    log_event(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED, actor=actor, data={
        "from": previous, "to": to_agent.pk if to_agent else None,
        "to_name": display_name(to_agent) if to_agent else None, "queue": to_queue.pk if to_queue else None})
    return ticket


@transaction.atomic
def hand_back(moves: list[tuple[Ticket, object]], *, actor: Actor) -> None:
    """Tickets back to a queue unassigned, ``(ticket, queue)`` each (None: the queue they are in), as
    ``hand_over`` gives one back: one statement per queue and one for the history."""
    now, by_queue = timezone.now(), {}
    for ticket, queue in moves:
        by_queue.setdefault(queue, []).append(ticket)
    events = []
    for queue, moved in by_queue.items():
        fields = {"assignee": None, "updated_at": now, **({"queue": queue} if queue is not None else {})}
        Ticket.objects.filter(pk__in=[ticket.pk for ticket in moved]).update(**fields)
        for ticket in moved:
            events.append(new_event(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED, actor=actor, data={
                "from": ticket.assignee_id, "to": None, "to_name": None, "queue": queue.pk if queue else None}))
            for name, value in fields.items():
                setattr(ticket, name, value)
    log_events(events)


@transaction.atomic
def merge_into(*, ticket: Ticket, into: Ticket, actor: Actor) -> int:
    """Record ``ticket`` as a duplicate of ``into`` (the action has checked they may merge).

    Its messages (with their files, and what search indexed of them) move to ``into``, whose
    thread then reads both in the order they were written; ``ticket`` is closed and names
    ``into``. Both histories say so. Returns how many messages moved.
    """
    now = timezone.now()
    moved = Message.objects.filter(ticket=ticket).update(ticket=into)
    SearchDocument.objects.filter(ticket=ticket, message__isnull=False).update(ticket=into)
    search.relanguage(ticket=into)
    previous = ticket.status
    ticket.merged_into, ticket.status = into, Status.CLOSED
    ticket.resolved_at = ticket.resolved_at or now
    ticket.save(update_fields=["merged_into", "status", "resolved_at", "updated_at"])
    into.save(update_fields=["updated_at"])
    events = [new_event(ticket=ticket, kind=TicketEvent.Kind.MERGED, actor=actor, at=now,
                        data=vocabulary.Merged(event="into", ticket=into.reference, messages=moved)),
              new_event(ticket=into, kind=TicketEvent.Kind.MERGED, actor=actor, at=now,
                        data=vocabulary.Merged(event="from", ticket=ticket.reference, messages=moved))]
    if previous != Status.CLOSED:
        events.insert(1, new_event(ticket=ticket, kind=TicketEvent.Kind.STATUS, actor=actor, at=now,
                                   data={"from": previous, "to": Status.CLOSED, "reason": "merged"}))
    log_events(events)
    return moved


CONTACT_FIELDS = ("name", "email", "phone", "language", "region")


def _plain(value):
    return getattr(value, "pk", value)


@transaction.atomic
def update_contact(*, contact: Contact, changes: dict, actor: Actor) -> Contact:
    """Change a contact's details; each of their tickets records who changed what.

    The address is where replies go: a change to it must be as traceable as a reply.
    """
    unknown = set(changes) - set(CONTACT_FIELDS)
    if unknown:
        raise ValueError(f"not contact fields: {', '.join(sorted(unknown))}")
    current = Contact.objects.select_for_update().get(pk=contact.pk)
    if "language" in changes:
        changes = {**changes, "language": check_language(changes["language"])}
    changed = {name: {"from": _plain(getattr(current, name)), "to": _plain(value)}
               for name, value in changes.items() if _plain(getattr(current, name)) != _plain(value)}
    if not changed:
        return current
    for name in changed:
        setattr(current, name, changes[name])
    current.save(update_fields=list(changed))
    now = timezone.now()
    log_events([new_event(ticket=ticket, kind=TicketEvent.Kind.CONTACT, actor=actor, at=now,
                          data={"contact": current.pk, "changed": changed})
                for ticket in current.tickets.all()])
    return current


def find_or_create_contact(*, email: str = "", phone: str = "", name: str = "",
                           language: str = "en", region=None) -> Contact:
    """The contact with this email (else phone), created on first sight."""
    if email:
        contact = contacts_by_email({email}).get(email.upper())
    else:
        contact = Contact.objects.filter(phone=phone).order_by("pk").first() if phone else None
    if contact:
        return contact
    contact = new_contact(email=email, phone=phone, name=name, language=language, region=region)
    contact.save()
    return contact


def new_contact(*, email: str = "", phone: str = "", name: str = "", language: str = "en", region=None) -> Contact:
    """An unsaved contact with a checked language, for a batch to write with others.

    The name goes into subjects and mail headers: it is kept to one line without control characters.
    """
    return Contact(email=email, phone=phone, name=one_line(name, max_length=200), language=check_language(language),
                   region=region)


def add_attachment(*, message: Message, filename: str, content_type: str, data: bytes) -> Attachment:
    """Store a file on a message, content-addressed: the same bytes are kept on disk once."""
    return add_attachments([(message, filename, content_type, data)])[0]


def add_attachments(items: list[tuple[Message, str, str, bytes]]) -> list[Attachment]:
    """Store files on messages, ``(message, filename, content_type, data)`` each, with one insert for all."""
    attachments = []
    for message, filename, content_type, data in items:
        digest = hashlib.sha256(data).hexdigest()
        attachment = Attachment(message=message, filename=(filename or "attachment")[:255],
                                content_type=(content_type or "application/octet-stream")[:255],
                                size=len(data), sha256=digest)
        path = attachment_path(attachment, attachment.filename)
        if default_storage.exists(path):
            attachment.file.name = path
        else:
            attachment.file.save(attachment.filename, ContentFile(data), save=False)
        attachments.append(attachment)
    Attachment.objects.bulk_create(attachments)
    return attachments


def contacts_for_phones(callers: list[tuple[str, str, object]]) -> dict[str, Contact]:
    """``find_or_create_contact`` for many callers, ``(phone, language, region)`` each, in two statements.

    One contact per number: the first with it, or a new one (with the first caller's language and
    region) written with the others.
    """
    numbers = {phone for phone, _language, _region in callers if phone}
    found: dict[str, Contact] = {}
    for contact in Contact.objects.filter(phone__in=numbers).order_by("pk"):
        found.setdefault(contact.phone, contact)
    fresh: dict[str, Contact] = {}
    for phone, language, region in callers:
        if phone and phone not in found and phone not in fresh:
            fresh[phone] = new_contact(phone=phone, language=language, region=region)
    Contact.objects.bulk_create(fresh.values())
    return {**found, **fresh}


def contacts_by_email(emails: set[str]) -> dict[str, Contact]:
    """The first contact of each address, by upper-cased address (one query), as ``find_or_create_contact`` finds it."""
    found: dict[str, Contact] = {}
    wanted = {email.upper() for email in emails if email}
    if wanted:
        for contact in (Contact.objects.annotate(upper_email=Upper("email")).filter(upper_email__in=wanted)
                        .order_by("pk")):
            found.setdefault(contact.upper_email, contact)
    return found


# --- canned responses: the manager's texts, one title and body per language ---


class CannedResponseError(ValueError):
    """A canned response the desk refuses; the message is in the manager's language."""


@transaction.atomic
def save_canned_response(*, texts: dict[str, tuple[str, str]],
                         response: CannedResponse | None = None) -> CannedResponse:
    """Add a canned response (``response`` None) or change one. ``texts``: language → (title, body).

    English is required (every other language falls back to it); another language has both a title
    and a body, or neither (then agents working in it see the English text).
    """
    default = settings.MODELTRANSLATION_DEFAULT_LANGUAGE
    cleaned = {code: (title.strip(), body.strip()) for code, (title, body) in texts.items()}
    title, body = cleaned.get(default, ("", ""))
    if not title or not body:
        raise CannedResponseError(_("The English title and text are required: the other languages fall back "
                                    "to them."))
    for code, (title, body) in cleaned.items():
        if bool(title) != bool(body):
            raise CannedResponseError(_("%(language)s: write both a title and a text, or neither.") % {
                "language": Language(code).label})
    response = response or CannedResponse()
    for code, _name in settings.LANGUAGES:
        title, body = cleaned.get(code, ("", ""))
        # An empty translation is stored as NULL, so modeltranslation falls back to English.
        setattr(response, build_localized_fieldname("title", code), title or None)
        setattr(response, build_localized_fieldname("body", code), body or None)
    response.save()
    return response


@transaction.atomic
def delete_canned_response(*, response: CannedResponse) -> None:
    response.delete()
