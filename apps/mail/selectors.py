"""Reads for mail: which ticket a message belongs to, which desk address it was sent to.

Threading tries, in order: the Message-IDs it answers (In-Reply-To, then every
References entry, so an Outlook reply whose In-Reply-To names a message we never
saw still threads through the older ids it carries), the ids of the mail a bounce
reports on, the ticket's token (``apps.mail.tokens``) in a recipient address or in
those ids, the ``[SD-000123]`` tag in the subject when the sender takes part in that
ticket's mail, then the same sender writing about the same (normalised) subject
within ``MAIL_THREAD_DAYS``. References are sequential, so a tag alone from anyone
else proves nothing: such mail opens a ticket of its own. Whatever rule finds a ticket merged into
another, the reply goes on the survivor.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, QuerySet
from django.db.models.functions import Upper

from apps.mail import tokens
from apps.mail.models import InboundEmail, MailReference, MailThread, OutboundEmail
from apps.mail.parsing import ParsedEmail
from apps.mail.subjects import normalise_subject, references_in_subject
from apps.policy.languages import Channel
from apps.policy.models import EntryPoint
from apps.policy.services import mailbox_for
from apps.tickets.models import Message, Ticket
from apps.tickets.selectors import surviving
from supportdesk.readonce import once


def _ticket(ticket_id: int | None, tickets: dict[int, Ticket] | None) -> Ticket | None:
    """The ticket with this id: from ``tickets`` (what a batch read at once), else read now."""
    if not ticket_id:
        return None
    if tickets is not None and ticket_id in tickets:
        return tickets[ticket_id]
    return Ticket.objects.filter(pk=ticket_id).first()


def ticket_by_message_ids(ids: list[str], *, known: dict[str, int] | None = None,
                          tickets: dict[int, Ticket] | None = None) -> Ticket | None:
    """The ticket of the first id (in the order given) that the desk has seen or sent.

    ``known`` maps Message-IDs to ticket ids when a batch has read them already
    (``references_to_tickets``); then only the ticket itself is read, unless it is in ``tickets``.
    """
    if not ids:
        return None
    if known is not None:
        return _ticket(next((known[message_id] for message_id in ids if message_id in known), None), tickets)
    found = {ref.message_id: ref.ticket for ref in
             MailReference.objects.filter(message_id__in=ids).select_related("ticket")}
    for message_id in ids:
        if message_id in found:
            return found[message_id]
    return None


def references_to_tickets(ids: set[str]) -> dict[str, int]:
    """Which of these Message-IDs the desk has seen or sent, and their tickets' ids (one query per 5,000)."""
    found = {}
    for chunk in _chunks(ids):
        found.update(MailReference.objects.filter(message_id__in=chunk)
                     .values_list("message_id", "ticket_id"))
    return found


def email_messages_by_external_id(ids: set[str]) -> dict[str, tuple[int, int]]:
    """Email messages already filed under these ids: external id -> (message id, ticket id)."""
    found = {}
    for chunk in _chunks(ids):
        rows = (Message.objects.filter(channel=Channel.EMAIL, external_id__in=chunk)
                .values_list("external_id", "pk", "ticket_id"))
        found.update((external_id, (pk, ticket_id)) for external_id, pk, ticket_id in rows)
    return found


def ticket_by_token(values: list[str]) -> Ticket | None:
    """The ticket whose genuine token is in these recipient addresses or Message-IDs."""
    reference = tokens.reference_in(values)
    return Ticket.objects.filter(reference=reference).first() if reference else None


@dataclass
class Tagged:
    """A tagged ticket and the lower-cased addresses that take part in its mail."""

    ticket_id: int | None
    participants: set[str]


def tagged_tickets(references: set[str]) -> dict[str, Tagged]:
    """Each reference's ticket and participants (one query): its contact, and whoever sent or received its mail."""
    found = {reference: Tagged(ticket_id=None, participants=set()) for reference in references}
    if not references:
        return found
    inbound = Message.Direction.INBOUND
    # order_by(): the models' default orderings are not allowed inside a UNION (SQLite refuses them).
    rows = (Ticket.objects.filter(reference__in=references).order_by()
            .values_list("pk", "reference", "contact__email")
            .union(MailThread.objects.filter(ticket__reference__in=references).order_by()
                   .values_list("ticket_id", "ticket__reference", "address"),
                   OutboundEmail.objects.filter(ticket__reference__in=references).order_by()
                   .values_list("ticket_id", "ticket__reference", "to_address"),
                   Message.objects.filter(ticket__reference__in=references, direction=inbound,
                                          author_contact__isnull=False).order_by()
                   .values_list("ticket_id", "ticket__reference", "author_contact__email")))
    for ticket_id, reference, address in rows:
        tagged = found[reference]
        tagged.ticket_id = ticket_id
        if address:
            tagged.participants.add(address.lower())
    return found


def ticket_by_subject_tag(subject: str, *, sender: str, known: dict[str, Tagged] | None = None,
                          tickets: dict[int, Ticket] | None = None) -> Ticket | None:
    """The ticket tagged in the subject, when the sender takes part in its mail.

    ``known`` is a batch's ``tagged_tickets``; a reference missing from it is read and added.
    """
    references = references_in_subject(subject)
    if not references or not sender:
        return None
    if known is None:
        known = tagged_tickets(set(references))
    elif missing := {reference for reference in references if reference not in known}:
        known.update(tagged_tickets(missing))
    sender = sender.lower()
    for reference in references:
        tagged = known[reference]
        if tagged.ticket_id is not None and sender in tagged.participants:
            return _ticket(tagged.ticket_id, tickets)
    return None


def thread_key(address: str, subject: str) -> tuple[str, str] | None:
    """(address, normalised subject): what sender+subject threading matches; None when either is empty."""
    address, normalised = (address or "").lower(), normalise_subject(subject)
    return (address, normalised) if address and normalised else None


def ticket_by_sender_and_subject(*, address: str, subject: str, now: datetime,
                                 known: dict[tuple[str, str], tuple[int, datetime]] | None = None,
                                 tickets: dict[int, Ticket] | None = None) -> Ticket | None:
    """The ticket of the sender's latest thread about this subject within ``MAIL_THREAD_DAYS``.

    ``known`` is a batch's ``recent_threads``; then only the ticket itself is read, unless it is in ``tickets``.
    """
    key = thread_key(address, subject)
    if key is None:
        return None
    since = now - timedelta(days=settings.MAIL_THREAD_DAYS)
    if known is not None:
        ticket_id, last_inbound_at = known.get(key, (None, None))
        if ticket_id is None or last_inbound_at < since:
            return None
    else:
        # Most mail matches no thread: ask for the id only, and read the ticket when there is one.
        ticket_id = (MailThread.objects.filter(address=key[0], normalised_subject=key[1],
                                               last_inbound_at__gte=since)
                     .order_by("-last_inbound_at").values_list("ticket_id", flat=True).first())
    return _ticket(ticket_id, tickets)


def recent_threads(keys: set[tuple[str, str]], *, now: datetime) -> dict[tuple[str, str], tuple[int, datetime]]:
    """(address, normalised subject) -> (ticket id, last inbound) of the latest recent thread of each key.

    One query for a batch's senders, so sender+subject threading needs no read per message.
    """
    found: dict[tuple[str, str], tuple[int, datetime]] = {}
    since = now - timedelta(days=settings.MAIL_THREAD_DAYS)
    for chunk in _chunks({address for address, _subject in keys}):
        rows = (MailThread.objects.filter(address__in=chunk, last_inbound_at__gte=since)
                .values_list("address", "normalised_subject", "ticket_id", "last_inbound_at"))
        for address, subject, ticket_id, last_inbound_at in rows:
            key = (address, subject)
            if key in keys and (key not in found or last_inbound_at >= found[key][1]):
                found[key] = (ticket_id, last_inbound_at)
    return found


def tickets_with_threads(ticket_ids: set[int]) -> tuple[dict[int, Ticket], dict[int, MailThread | None]]:
    """These tickets and their mail threads (None: none) by ticket id, one query per 5,000: what a batch's
    replies continue, read at once instead of one ticket and one thread per reply."""
    tickets: dict[int, Ticket] = {}
    threads: dict[int, MailThread | None] = dict.fromkeys(ticket_ids)
    for chunk in _chunks(ticket_ids):
        for ticket in Ticket.objects.filter(pk__in=chunk).select_related("mail_thread"):
            tickets[ticket.pk] = ticket
            threads[ticket.pk] = getattr(ticket, "mail_thread", None)   # select_related knows when there is none
    return tickets, threads


def token_places(parsed: ParsedEmail, envelope_to: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Where a reply carries the desk's token: the addresses it went to, the ids it answers or reports on."""
    return [*parsed.recipients, *envelope_to, *parsed.thread_ids, *parsed.bounced_message_ids]


def ticket_for_mail(*, parsed: ParsedEmail, now: datetime, envelope_to: list[str] | tuple[str, ...] = (),
                    known_references: dict[str, int] | None = None,
                    known_threads: dict[tuple[str, str], tuple[int, datetime]] | None = None,
                    known_tags: dict[str, Tagged] | None = None,
                    known_tickets: dict[int, Ticket] | None = None) -> tuple[Ticket | None, str]:
    """The ticket this message continues and the rule that found it, or (None, "").

    A reply to a ticket merged into another continues the survivor (``surviving``).
    """
    ticket, rule = _ticket_referred_to(parsed=parsed, now=now, envelope_to=envelope_to,
                                       known_references=known_references, known_threads=known_threads,
                                       known_tags=known_tags, known_tickets=known_tickets)
    return surviving(ticket), rule


def _ticket_referred_to(*, parsed: ParsedEmail, now: datetime, envelope_to: list[str] | tuple[str, ...],
                        known_references: dict[str, int] | None,
                        known_threads: dict[tuple[str, str], tuple[int, datetime]] | None,
                        known_tags: dict[str, Tagged] | None,
                        known_tickets: dict[int, Ticket] | None) -> tuple[Ticket | None, str]:
    ticket = ticket_by_message_ids(parsed.thread_ids, known=known_references, tickets=known_tickets)
    if ticket:
        return ticket, "message-id"
    if parsed.bounced_message_ids:
        ticket = ticket_by_message_ids(parsed.bounced_message_ids, known=known_references, tickets=known_tickets)
        if ticket:
            return ticket, "bounce"
    ticket = ticket_by_token(token_places(parsed, envelope_to))
    if ticket:
        return ticket, "token"
    ticket = ticket_by_subject_tag(parsed.subject, sender=parsed.from_address, known=known_tags,
                                   tickets=known_tickets)
    if ticket:
        return ticket, "subject-tag"
    if not parsed.is_automatic:
        ticket = ticket_by_sender_and_subject(address=parsed.from_address, subject=parsed.subject, now=now,
                                              known=known_threads, tickets=known_tickets)
        if ticket:
            return ticket, "sender-subject"
    return None, ""


@dataclass(frozen=True)
class Mailbox:
    address: str
    default_language: str


def desk_mailboxes() -> dict[str, Mailbox]:
    """The desk's mailbox entry points by lower-cased address (a handful of rows)."""
    def load():
        rows = EntryPoint.objects.filter(kind=EntryPoint.Kind.MAILBOX).values_list("address", "default_language")
        return {address.lower(): Mailbox(address=address, default_language=language) for address, language in rows}

    return once("desk-mailboxes", load)


def mailbox_entry_point(addresses: list[str], *, mailboxes: dict[str, Mailbox] | None = None) -> Mailbox | None:
    """The first desk mailbox among the recipients (To, Cc, Delivered-To, envelope)."""
    wanted = [tokens.without_token(address).lower() for address in addresses if address]
    if not wanted:
        return None
    mailboxes = desk_mailboxes() if mailboxes is None else mailboxes
    for address in wanted:
        if address in mailboxes:
            return mailboxes[address]
    return None


def is_desk_address(address: str, *, mailboxes: dict[str, Mailbox] | None = None) -> bool:
    """Mail from the desk's own addresses is a loop, never a user."""
    if not address:
        return False
    mailboxes = desk_mailboxes() if mailboxes is None else mailboxes
    address = tokens.without_token(address).lower()
    return address in mailboxes or address == settings.DEFAULT_FROM_EMAIL.lower()


def review_list() -> QuerySet[InboundEmail]:
    """Automatic mail that matched no ticket, oldest first, for a person to look at."""
    return (InboundEmail.objects.filter(outcome=InboundEmail.Outcome.REVIEW, reviewed_at__isnull=True)
            .defer("raw").order_by("received_at", "pk"))


def pending_inbound(*, older_than: datetime | None = None) -> QuerySet[InboundEmail]:
    """Stored messages not filed yet, oldest first; ``older_than`` leaves the newer ones out."""
    pending = InboundEmail.objects.filter(outcome=InboundEmail.Outcome.PENDING, processed_at__isnull=True)
    if older_than is not None:
        pending = pending.filter(received_at__lte=older_than)
    return pending.order_by("received_at", "pk")


def pending_count(*, at_most: int) -> int:
    """How many stored messages wait to be filed, counted up to ``at_most`` (cheap on the pending index)."""
    return pending_inbound().order_by()[:at_most].count()


def receipts_sent_last_hour(addresses: set[str], *, now: datetime) -> dict[str, int]:
    """Receipts of the last hour by upper-cased address, for these upper-cased addresses (one query)."""
    if not addresses:
        return {}
    rows = (OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECEIPT, created_at__gte=now - timedelta(hours=1))
            .annotate(address=Upper("to_address")).filter(address__in=addresses)
            .values("address").annotate(sent=Count("pk")).values_list("address", "sent"))
    return dict(rows)


def desk_address(ticket: Ticket) -> str:
    """Where replies come from: the desk address the user wrote to; on a ticket that did not start by
    mail (a chat), its region's mailbox."""
    mailbox = MailThread.objects.filter(ticket=ticket).values_list("mailbox", flat=True).first()
    return mailbox or mailbox_for(region_id=ticket.region_id, language=ticket.language)


def user_address(ticket: Ticket) -> str:
    """Where replies go: the address of the ticket's mail thread, else its contact's."""
    thread = MailThread.objects.filter(ticket=ticket).first()
    return (thread.address if thread else "") or ticket.contact.email


def has_address(ticket: Ticket) -> bool:
    """Whether a reply can follow up by email (the channel registry's ``reaches``)."""
    return bool(user_address(ticket))


def thread_message_ids(ticket: Ticket) -> list[str]:
    """The ticket's Message-IDs, oldest first (for References)."""
    ids = (MailReference.objects.filter(ticket=ticket).order_by("created_at", "pk")
           .values_list("message_id", flat=True))
    return [mid for mid in ids if not mid.endswith("@no-message-id.invalid>")]


def last_inbound_message_id(ticket: Ticket) -> str | None:
    """The Message-ID of the user's latest mail on the ticket (a reply's In-Reply-To)."""
    return (Message.objects.filter(ticket=ticket, channel=Channel.EMAIL, direction=Message.Direction.INBOUND)
            .exclude(external_id="").order_by("-created_at", "-pk").values_list("external_id", flat=True).first())


def filed_inbound(*, inbound_id: int) -> InboundEmail | None:
    """The stored message with its ticket once it is filed; None while it is pending."""
    return (InboundEmail.objects.filter(pk=inbound_id, processed_at__isnull=False).select_related("ticket")
            .defer("raw").first())


def _chunks(values, size: int = 5000):
    """Sorted slices of at most ``size`` values, so no ``IN (…)`` list grows without bound."""
    ordered = sorted(values)
    for start in range(0, len(ordered), size):
        yield ordered[start:start + size]
