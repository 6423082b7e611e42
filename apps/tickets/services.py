"""The only way tickets are opened, messages added and statuses changed.

Every channel (chat, voice, mail, feedback, API) calls these functions, so the SLA
clocks, routing and the event log behave the same whatever the channel.
"""

import hashlib
from dataclasses import dataclass
from datetime import datetime

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.console.events import broadcast_events_on_commit
from apps.policy.languages import Channel, normalise_language
from apps.policy.services import PolicyError, region_for
from apps.routing.services import queue_for, reroute_after_triage, route_ticket
from apps.sla.services import record_acknowledgement, record_response, start_clocks
from apps.tickets.models import (
    Attachment,
    Contact,
    Message,
    Ticket,
    TicketEvent,
    attachment_path,
    format_reference,
)

Status = Ticket.Status

ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.NEW: frozenset({Status.OPEN, Status.PENDING, Status.FORWARDED, Status.RESOLVED}),
    Status.OPEN: frozenset({Status.PENDING, Status.FORWARDED, Status.RESOLVED}),
    Status.PENDING: frozenset({Status.OPEN, Status.FORWARDED, Status.RESOLVED}),
    Status.FORWARDED: frozenset({Status.OPEN, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.OPEN, Status.CLOSED}),
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


def log_event(*, ticket: Ticket, kind: str, actor: Actor | None = None, data: dict | None = None,
              at: datetime | None = None) -> TicketEvent:
    actor = actor or Actor.system()
    event = TicketEvent.objects.create(
        ticket=ticket, kind=kind, actor=actor.user, actor_label=actor.label,
        data=data or {}, created_at=at or timezone.now(),
    )
    broadcast_events_on_commit([event.pk])
    return event


def _check_channel(channel: str) -> None:
    if channel not in Channel.values:
        raise TicketError(_("Unknown channel %(channel)s.") % {"channel": channel})


def _check_language(language: str) -> str:
    try:
        return normalise_language(language)
    except ValueError as error:
        raise TicketError(_("Unsupported language %(language)s.") % {"language": language}) from error


@transaction.atomic
def open_ticket(*, channel: str, contact: Contact, subject: str, body: str, external_ref: str = "",
                language: str | None = None, region=None, body_html: str = "",
                external_id: str = "", received_at: datetime | None = None,
                waiting_since: datetime | None = None, extension=None,
                actor: Actor | None = None, unparsed: bool = False) -> Ticket:
    """Open a ticket from any channel; a repeated ``(channel, external_ref)`` returns the first.

    The region comes from the entry point when the channel knows it (passed in),
    else from the contact, else from the language's default region. ``waiting_since``
    starts a live channel's response clock when the user begins to wait for a person.
    """
    _check_channel(channel)
    language = _check_language(language or contact.language)
    if external_ref:
        existing = Ticket.objects.filter(channel=channel, external_ref=external_ref).first()
        if existing:
            return existing
    received_at = received_at or timezone.now()
    try:
        # A savepoint, so a concurrent insert of the same external_ref can be recovered.
        with transaction.atomic():
            ticket = Ticket.objects.create(
                channel=channel, external_ref=external_ref, contact=contact, language=language,
                region=region or region_for(contact=contact, language=language),
                subject=subject[:300], received_at=received_at,
                extension=extension, queue=queue_for(language=language, channel=channel),
                unparsed=unparsed,
            )
    except IntegrityError:
        if not external_ref:
            raise
        return Ticket.objects.get(channel=channel, external_ref=external_ref)
    ticket.reference = format_reference(ticket.pk)
    ticket.save(update_fields=["reference"])
    actor = actor or Actor(label=str(contact))
    log_event(ticket=ticket, kind=TicketEvent.Kind.OPENED, actor=actor, at=received_at,
              data={"channel": channel, "language": language,
                    "region": ticket.region.slug if ticket.region else None})
    if body or body_html or external_id:
        add_message(ticket=ticket, direction=Message.Direction.INBOUND, body=body,
                    body_html=body_html, author_contact=contact, external_id=external_id,
                    created_at=received_at)
    try:
        with transaction.atomic():
            start_clocks(ticket=ticket, waiting_since=waiting_since)
    except PolicyError as error:
        # A gap in the policy must never lose a ticket: keep it and say why it has no clock.
        log_event(ticket=ticket, kind=TicketEvent.Kind.SLA, data={"event": "no_clock", "error": str(error)})
    route_ticket(ticket=ticket)
    return ticket


@transaction.atomic
def add_message(*, ticket: Ticket, direction: str, body: str, body_html: str = "",
                author_user=None, author_contact: Contact | None = None, external_id: str = "",
                automatic: bool = False, channel: str | None = None,
                created_at: datetime | None = None) -> Message:
    """Add a message; a repeated ``external_id`` on the same channel returns the first one.

    A person's outbound reply records the ticket's first response and acknowledgement;
    an automatic one (a receipt) never does.
    """
    channel = channel or ticket.channel
    if direction not in Message.Direction.values:
        raise TicketError(_("Unknown message direction %(direction)s.") % {"direction": direction})
    if external_id:
        existing = Message.objects.filter(channel=channel, external_id=external_id).first()
        if existing:
            return existing
    created_at = created_at or timezone.now()
    message = Message.objects.create(
        ticket=ticket, direction=direction, body_text=body, body_html=body_html,
        author_user=author_user, author_contact=author_contact, external_id=external_id,
        automatic=automatic, channel=channel, created_at=created_at,
    )
    actor = Actor(user=author_user) if author_user else Actor(label=str(author_contact or "system"))
    log_event(ticket=ticket, kind=TicketEvent.Kind.MESSAGE, actor=actor, at=created_at,
              data={"message_id": message.pk, "direction": direction, "automatic": automatic})
    if direction == Message.Direction.OUTBOUND and not automatic and author_user is not None:
        _record_first_response(ticket=ticket, at=created_at, user=author_user)
    elif direction == Message.Direction.INBOUND and ticket.status in (Status.PENDING, Status.RESOLVED):
        # The user answered or came back: the ticket needs a person again.
        change_status(ticket=ticket, to=Status.OPEN, actor=actor, reason="user replied")
    return message


def _record_first_response(*, ticket: Ticket, at: datetime, user) -> None:
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
        record_response(ticket=ticket, at=at)


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
                  language: str | None = None, actor: Actor) -> Ticket:
    """Record an agent's triage; triage by a person acknowledges the ticket."""
    if scope not in Ticket.Scope.values or scope == Ticket.Scope.UNTRIAGED:
        raise TicketError(_("Triage needs a scope: core or extension."))
    if category and category not in Ticket.Category.values:
        raise TicketError(_("Unknown category %(category)s.") % {"category": category})
    if scope == Ticket.Scope.EXTENSION and extension is None:
        raise TicketError(_("An extension ticket needs its extension."))
    if scope == Ticket.Scope.CORE:
        extension = None
    ticket.scope, ticket.category, ticket.extension = scope, category, extension
    if language:
        ticket.language = _check_language(language)
        ticket.queue = queue_for(language=ticket.language, channel=ticket.channel)
    now = timezone.now()
    fields = ["scope", "category", "extension", "language", "queue", "updated_at"]
    if ticket.acknowledged_at is None and actor.user is not None:
        ticket.acknowledged_at = now
        fields.append("acknowledged_at")
    ticket.save(update_fields=fields)
    if "acknowledged_at" in fields:
        record_acknowledgement(ticket=ticket, at=now)
    log_event(ticket=ticket, kind=TicketEvent.Kind.TRIAGED, actor=actor, at=now,
              data={"scope": scope, "category": category,
                    "extension": extension.slug if extension else None, "language": ticket.language})
    reroute_after_triage(ticket=ticket)
    return ticket


def find_or_create_contact(*, email: str = "", phone: str = "", name: str = "",
                           language: str = "en", region=None) -> Contact:
    """The contact with this email (else phone), created on first sight."""
    lookup = {"email__iexact": email} if email else {"phone": phone} if phone else None
    contact = Contact.objects.filter(**lookup).order_by("pk").first() if lookup else None
    if contact:
        return contact
    return Contact.objects.create(email=email, phone=phone, name=name,
                                  language=_check_language(language), region=region)


def add_attachment(*, message: Message, filename: str, content_type: str, data: bytes) -> Attachment:
    """Store a file on a message, content-addressed: the same bytes are kept on disk once."""
    digest = hashlib.sha256(data).hexdigest()
    attachment = Attachment(message=message, filename=(filename or "attachment")[:255],
                            content_type=(content_type or "application/octet-stream")[:255],
                            size=len(data), sha256=digest)
    path = attachment_path(attachment, attachment.filename)
    if default_storage.exists(path):
        attachment.file.name = path
    else:
        attachment.file.save(attachment.filename, ContentFile(data), save=False)
    attachment.save()
    return attachment
