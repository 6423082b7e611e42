"""Every write of the mail app: store what arrives, turn it into tickets, send receipts and replies.

All intake paths (the SMTP listener, the IMAP poller, the inbound webhook and
``ingest_email`` files) store the raw bytes and file the message by the same
rules (``_file``), so they behave the same. One message at a time goes through
``receive_email`` then ``process_inbound`` (or ``ingest_email``); a mailbox import
goes through ``ingest_many``, which parses in worker processes and files a batch
per transaction with the same ``_file``. Processing is idempotent (a message
whose Message-ID is already on a ticket is recorded as a duplicate) and never
loses a message: whatever cannot be read becomes a ticket flagged ``unparsed``
with the raw message attached.
"""

import hashlib
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count
from django.db.models.functions import Upper
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.desk.actions import add_message, add_messages, open_ticket, open_tickets
from apps.mail import selectors, tokens
from apps.mail.loops import is_robot_address
from apps.mail.models import ImapCursor, InboundEmail, MailReference, MailThread, OutboundEmail
from apps.mail.outbound import send_outbound_later
from apps.mail.parsing import ParsedEmail, UnparseableEmail, headers_only, parse_email, parse_many
from apps.mail.subjects import normalise_subject, references_in_subject, tagged
from apps.policy.languages import Channel
from apps.policy.services import mailbox_for, region_for
from apps.tickets.models import Contact, Message, ReceiptTemplate, Ticket, TicketEvent
from apps.tickets.services import (
    Actor,
    NewMessage,
    NewTicket,
    TicketError,
    add_attachment,
    add_attachments,
    contacts_by_email,
    find_or_create_contact,
    log_events,
    new_contact,
    new_event,
)
from supportdesk.binaryinsert import bulk_insert
from supportdesk.jobs import enqueue_on_commit
from supportdesk.readonce import once, read_once
from supportdesk.text import one_line

log = logging.getLogger(__name__)

Outcome = InboundEmail.Outcome
MAX_REFERENCES = 20
_ADDRESS_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


class MessageTooLarge(ValueError):
    """Over ``MAIL_MAX_BYTES``: the sender is told so (SMTP 552, HTTP 413) and nothing is stored."""


# --- intake --------------------------------------------------------------------

def receive_email(*, raw: bytes, source: str, source_key: str = "", envelope_from: str = "",
                  envelope_to: list[str] | tuple[str, ...] = ()) -> InboundEmail:
    """Store a message's raw bytes durably (committed on return); a repeated source key returns the first.

    Raises ``MessageTooLarge`` over the limit and lets database errors through, so
    the SMTP listener can answer 4xx and the sender retries.
    """
    _check_size(raw)
    fields = _raw_fields(raw, envelope_from=envelope_from, envelope_to=envelope_to)
    if not source_key:
        return InboundEmail.objects.create(source=source, **fields)
    existing = InboundEmail.objects.filter(source=source, source_key=source_key).defer("raw").first()
    if existing:
        return existing
    try:
        with transaction.atomic():
            return InboundEmail.objects.create(source=source, source_key=source_key, **fields)
    except IntegrityError:
        # Another poller stored it first.
        return InboundEmail.objects.defer("raw").get(source=source, source_key=source_key)


def _too_large(raw: bytes) -> MessageTooLarge | None:
    if len(raw) <= settings.MAIL_MAX_BYTES:
        return None
    return MessageTooLarge(_("The message is %(size)d bytes; the limit is %(limit)d bytes.")
                           % {"size": len(raw), "limit": settings.MAIL_MAX_BYTES})


def _check_size(raw: bytes) -> None:
    error = _too_large(raw)
    if error is not None:
        raise error


def _raw_fields(raw: bytes, *, envelope_from: str = "", envelope_to: Iterable[str] = ()) -> dict:
    """The columns of a stored message that come from its bytes and envelope."""
    return {"raw": raw, "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
            "envelope_from": envelope_from[:998], "envelope_to": [str(a)[:254] for a in envelope_to][:100],
            "received_at": timezone.now()}


def queue_processing(*, inbound: InboundEmail) -> None:
    """Process a stored message in the mail worker once its row is committed."""
    enqueue_on_commit("mail", "apps.mail.jobs.process_inbound_job", inbound.pk)


def ingest_email(*, raw: bytes, source: str, source_key: str = "", envelope_from: str = "",
                 envelope_to: list[str] | tuple[str, ...] = (), receipts: bool = True) -> InboundEmail:
    """Store and process in one transaction: the path of the command, the webhook and the IMAP poller.

    These callers still hold the message (a file, a provider that retries, an IMAP
    folder), so one commit covering both is as safe as two and half the cost.
    ``receipts=False`` files a new ticket without its automatic receipt (an import of old mail).
    """
    with transaction.atomic():
        inbound = receive_email(raw=raw, source=source, source_key=source_key, envelope_from=envelope_from,
                                envelope_to=envelope_to)
        if inbound.processed_at is not None:
            return inbound
        if source_key:  # it may be a row another poller stored: lock it before processing
            inbound = InboundEmail.objects.select_for_update().get(pk=inbound.pk)
        return _process_locked(inbound, receipts=receipts)


def process_pending(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """Process stored messages a crash or a lost job left behind; returns how many."""
    done = 0
    for inbound_id in selectors.pending_inbound(older_than=timezone.now() - older_than):
        process_inbound(inbound_id=inbound_id)
        done += 1
    return done


def process_inbound(*, inbound_id: int) -> InboundEmail:
    """Parse a stored message and file it on a ticket; safe to call again."""
    with transaction.atomic():
        return _process_locked(InboundEmail.objects.select_for_update().get(pk=inbound_id))


def _process_locked(inbound: InboundEmail, *, receipts: bool = True) -> InboundEmail:
    """Process a locked row; an unexpected error files the raw message on a flagged ticket instead.

    The attempt runs in a savepoint, so a bug or a constraint nobody foresaw rolls
    back only the attempt and no exception escapes for a bad message. Database
    outages do escape (the row stays pending for ``process_pending``).
    """
    if inbound.processed_at is not None:
        return inbound
    with read_once():
        try:
            with transaction.atomic():
                _file(inbound, _parse(bytes(inbound.raw)), filing=Filing.single(receipts=receipts))
                _save_outcome(inbound)
        except Exception as error:
            if _database_unavailable(error):
                raise
            log.exception("mail %s could not be filed; keeping it raw on a flagged ticket", inbound.pk)
            with transaction.atomic():
                _file_unparsed(inbound, error=f"{type(error).__name__}: {error}")
                _save_outcome(inbound)
    return inbound


def _database_unavailable(error: Exception) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(error, (OperationalError, InterfaceError))


# --- many at once ----------------------------------------------------------------

def ingest_many(raws: Iterable[bytes], *, source: str, jobs: int = 1, batch_size: int = 200,
                receipts: bool = True) -> Iterator[InboundEmail | MessageTooLarge]:
    """Store and file many messages (a mailbox migration, a backlog): one result per message, in order.

    Parsing runs in ``jobs`` worker processes while this process files what came
    before, up to ``batch_size`` messages per transaction, by the same rules as one
    message (``_file``): a reply to a message earlier in the same batch threads,
    a Message-ID twice in one batch is a duplicate, and every message's raw bytes
    are stored. A batch that fails is rolled back and its messages are ingested
    one by one, so a bad message never takes its neighbours with it. Too large
    messages are not stored; their ``MessageTooLarge`` is yielded in their place.
    ``receipts=False`` opens tickets without automatic receipts (old mail being imported).
    """
    batch: list[tuple[bytes, ParsedEmail | UnparseableEmail | None]] = []
    # The first batches are small and double, as parse_many's windows do, so filing starts
    # as soon as the first messages are parsed instead of waiting for a whole batch.
    size = min(batch_size, 8 * jobs) if jobs > 1 else batch_size
    for item in parse_many(raws, jobs=jobs, window=batch_size, max_bytes=settings.MAIL_MAX_BYTES):
        batch.append(item)
        if len(batch) >= size:
            yield from _ingest_batch(batch, source=source, receipts=receipts)
            batch, size = [], min(batch_size, size * 2)
    if batch:
        yield from _ingest_batch(batch, source=source, receipts=receipts)


def _ingest_batch(items: list[tuple[bytes, ParsedEmail | UnparseableEmail | None]], *,
                  source: str, receipts: bool) -> list[InboundEmail | MessageTooLarge]:
    results: list[InboundEmail | MessageTooLarge | None] = [
        _too_large(raw) if parsed is None else None for raw, parsed in items]
    todo = [(index, raw, parsed) for index, (raw, parsed) in enumerate(items) if parsed is not None]
    if not todo:
        return results
    try:
        with transaction.atomic(), read_once():
            inbounds = [InboundEmail(source=source, **_raw_fields(raw)) for _index, raw, _parsed in todo]
            filing = Filing.batch([(inbound, parsed) for inbound, (_i, _r, parsed) in zip(inbounds, todo)],
                                  receipts=receipts)
            for inbound, (_index, _raw, parsed) in zip(inbounds, todo):
                _file(inbound, parsed, filing=filing)
            filing.flush()
            # One statement for the whole batch: the rows are complete, and commit with their tickets.
            bulk_insert(inbounds)
            MailReference.objects.bulk_create(filing.references_to_store, ignore_conflicts=True)
            if filing.deliveries:
                send_outbound_later(filing.deliveries)
    except Exception as error:
        if _database_unavailable(error):
            raise
        log.exception("a batch of %d messages failed; ingesting them one by one", len(todo))
        for index, raw, _parsed in todo:
            results[index] = ingest_email(raw=raw, source=source, receipts=receipts)
        return results
    for inbound, (index, _raw, _parsed) in zip(inbounds, todo):
        results[index] = inbound
    return results


# --- filing: the rules every path shares ---------------------------------------------

class _Held:
    """A message filed in a batch whose rows wait for the batch's new tickets (``Filing.flush``).

    ``copies`` are later copies of the same Message-ID in the batch (duplicates),
    told their ticket and message when the flush has written them.
    """

    ticket: Ticket | None
    message: Message | None
    copies: list[InboundEmail]


@dataclass(eq=False)
class _NewMail(_Held):
    """A message that opens a ticket."""

    inbound: InboundEmail
    parsed: ParsedEmail
    request: NewTicket
    external_id: str
    ticket: Ticket | None = None
    message: Message | None = None
    copies: list[InboundEmail] = field(default_factory=list)
    replies: list["_HeldReply"] = field(default_factory=list)


@dataclass(eq=False)
class _HeldReply(_Held):
    """A user's message that continues a ticket opened earlier in the same batch."""

    mail: _NewMail
    inbound: InboundEmail
    parsed: ParsedEmail
    contact: Contact
    body: str
    external_id: str
    rule: str
    message: Message | None = None
    copies: list[InboundEmail] = field(default_factory=list)

    @property
    def ticket(self) -> Ticket | None:
        return self.mail.ticket


@dataclass
class Filing:
    """What filing looks up besides the message itself, and the new tickets not written yet.

    ``references`` (Message-ID -> ticket id), ``messages`` (email external id ->
    (message id, ticket id)), ``threads`` ((sender, normalised subject) -> (ticket
    id, last inbound)), ``tags`` (reference tagged in a subject -> its ticket and
    participants) and ``contacts`` (upper-cased address -> contact) are None
    for a single message, whose lookups ask the database. A batch reads each of
    them for all its messages in one query and adds what each message files, so a
    reply to a message earlier in the same batch threads and the second copy of a
    Message-ID in one batch is a duplicate.

    A batch also holds its new tickets (``opening``) and writes them together in
    ``flush``: at the end of the batch, or as soon as a message refers to one of
    them. Until then the maps above name the held message in place of an id.
    """

    mailboxes: dict
    batched: bool = False
    receipts: bool = True   # False: new tickets get no automatic receipt (an import of old mail)
    references: dict[str, "int | _Held"] | None = None
    messages: dict[str, "tuple[int, int] | _Held"] | None = None
    threads: dict[tuple[str, str], "tuple[int | _NewMail, datetime]"] | None = None
    tags: dict[str, selectors.Tagged] | None = None
    contacts: dict[str, Contact] | None = None
    opening: list[_NewMail] = field(default_factory=list)
    # A batch writes its Message-IDs in one statement and sends its receipts in one job once it commits.
    references_to_store: list[MailReference] | None = None
    deliveries: list[int] | None = None
    # Receipts sent in the last hour by upper-cased address, for the rate limit (read once per batch).
    receipts_sent: dict[str, int] | None = None

    @classmethod
    def single(cls, *, receipts: bool = True) -> "Filing":
        return cls(mailboxes=selectors.desk_mailboxes(), receipts=receipts)

    @classmethod
    def batch(cls, items: list[tuple[InboundEmail, "ParsedEmail | UnparseableEmail"]], *,
              receipts: bool = True) -> "Filing":
        parsed = [(inbound, p) for inbound, p in items if isinstance(p, ParsedEmail)]
        wanted = {mid for _inbound, p in parsed for mid in [*p.thread_ids, *p.bounced_message_ids]}
        people = [p for _inbound, p in parsed if not p.is_automatic]
        receivers = {(p.reply_to or p.from_address).upper() for p in people}
        now = timezone.now()
        return cls(mailboxes=selectors.desk_mailboxes(), batched=True, receipts=receipts,
                   references=selectors.references_to_tickets(wanted),
                   messages=selectors.email_messages_by_external_id(
                       {_external_id(p, inbound) for inbound, p in parsed}),
                   threads=selectors.recent_threads({_thread_key(p) for p in people} - {None}, now=now),
                   tags=selectors.tagged_tickets({reference for _inbound, p in parsed
                                                  for reference in references_in_subject(p.subject)}),
                   contacts=contacts_by_email({p.from_address for p in people}),
                   references_to_store=[], deliveries=[],
                   receipts_sent=_receipts_recently_sent_to(receivers - {""}, now=now))

    def duplicate_of(self, external_id: str) -> "tuple[int, int] | _Held | None":
        """(message id, ticket id) of the email message already filed under this id, or its held message."""
        if self.messages is not None:
            return self.messages.get(external_id)
        return (Message.objects.filter(channel=Channel.EMAIL, external_id=external_id)
                .values_list("pk", "ticket_id").first())

    def filed(self, external_id: str, message: "Message | _Held | None") -> None:
        if self.messages is not None and message is not None:
            self.messages.setdefault(external_id, message if isinstance(message, _Held)
                                     else (message.pk, message.ticket_id))

    def remembered(self, ids: list[str], ticket: "Ticket | _Held") -> None:
        if self.references is not None:
            for message_id in ids:
                self.references.setdefault(message_id, ticket if isinstance(ticket, _Held) else ticket.pk)

    def threaded(self, key: tuple[str, str] | None, ticket: "Ticket | _NewMail", at: datetime) -> None:
        """The sender wrote about this subject on this ticket at ``at`` (the latest thread wins)."""
        if self.threads is None or key is None:
            return
        known = self.threads.get(key)
        if known is None or at >= known[1]:
            self.threads[key] = (ticket if isinstance(ticket, _NewMail) else ticket.pk, at)

    def took_part(self, ticket: Ticket, address: str) -> None:
        """The address sent mail on the ticket: a later tag of it from the same address threads."""
        for known in (self.tags or {}).values():
            if known.ticket_id == ticket.pk and address:
                known.participants.add(address.lower())

    def contact_for(self, *, email: str, name: str, language: str) -> Contact:
        """The sender's contact; a batch's new contacts are written with its tickets."""
        if self.contacts is None:
            return find_or_create_contact(email=email, name=name, language=language)
        if not email:  # nobody to find: a new contact, as find_or_create_contact makes
            return new_contact(name=name, language=language)
        contact = self.contacts.get(email.upper())
        if contact is None:
            contact = self.contacts[email.upper()] = new_contact(email=email, name=name, language=language)
        return contact

    def open_ticket(self, mail: _NewMail) -> None:
        """Open the message's ticket: at once for a single message, with the batch's others in a batch."""
        self.opening.append(mail)
        self.filed(mail.external_id, mail)
        self.remembered([mail.external_id], mail)
        self.threaded(_thread_key(mail.parsed), mail, mail.inbound.received_at)
        if not self.batched:
            self.flush()

    def held_ticket_for(self, parsed: ParsedEmail) -> "tuple[_NewMail, str] | None":
        """The batch's held new ticket this message continues, and the rule, by ``ticket_for_mail``'s rules.

        None when it continues nothing held. Automatic mail about a held ticket, and a
        subject tag or a thread token beside a held thread, write the held tickets first
        so the database answers as for any other message.
        """
        if not self.opening:
            return None
        references = self.references or {}
        known = [(references[mid], rule) for ids, rule in ((parsed.thread_ids, "message-id"),
                                                            (parsed.bounced_message_ids, "bounce"))
                 for mid in ids if mid in references]
        if known:  # the first id the desk knows decides, held or not
            held, rule = known[0]
        else:
            thread = (self.threads or {}).get(_thread_key(parsed)) if not parsed.is_automatic else None
            held, rule = (thread[0] if thread else None), "sender-subject"
            if isinstance(held, _Held) and (references_in_subject(parsed.subject) or any(
                    tokens.TOKEN.search(value) for value in selectors.token_places(parsed))):
                self.flush()
                return None
        if not isinstance(held, _Held):
            return None
        if parsed.is_automatic:
            self.flush()
            return None
        return (held.mail if isinstance(held, _HeldReply) else held), rule

    def flush(self) -> None:
        """Write the held new tickets, then put their ids in the maps in place of the held messages."""
        opening, self.opening = self.opening, []
        if not opening:
            return
        _open_tickets_for(opening, filing=self)
        for mapping in (self.references, self.threads):
            for key, value in (mapping or {}).items():
                if isinstance(value, _Held):
                    mapping[key] = value.ticket.pk
                elif isinstance(value, tuple) and isinstance(value[0], _Held):
                    mapping[key] = (value[0].ticket.pk, value[1])
        for key, value in list((self.messages or {}).items()):
            if isinstance(value, _Held):
                if value.message is None:
                    del self.messages[key]
                else:
                    self.messages[key] = (value.message.pk, value.ticket.pk)


def _thread_key(parsed: ParsedEmail) -> tuple[str, str] | None:
    return selectors.thread_key(parsed.from_address, parsed.subject)


def _thread_address(ticket: Ticket, parsed: ParsedEmail) -> str:
    """Who a ticket's mail thread is with: the sender, else the ticket's contact."""
    return (parsed.from_address or ticket.contact.email or "").lower()


def _parse(raw: bytes) -> ParsedEmail | UnparseableEmail:
    try:
        return parse_email(raw)
    except UnparseableEmail as error:
        return error


def _external_id(parsed: ParsedEmail, inbound: InboundEmail) -> str:
    return parsed.message_id or f"<{inbound.sha256}@no-message-id.invalid>"


def _save_outcome(inbound: InboundEmail) -> None:
    inbound.save(update_fields=["outcome", "ticket", "ticket_message", "processed_at", "message_id", "subject",
                                "from_address", "mailbox", "full_text", "automatic_reasons", "error"])


def _file(inbound: InboundEmail, parsed: ParsedEmail | UnparseableEmail, *, filing: Filing) -> None:
    """File one message by the desk's rules: duplicate, reply, automatic, new ticket (with receipt), unparsed.

    Sets the outcome on ``inbound``; the caller saves it (one row, or a batch's rows at once).
    """
    if isinstance(parsed, UnparseableEmail):
        filing.flush()  # it finds or creates its contact in the database
        _file_unparsed(inbound, error=str(parsed))
        return
    mailboxes = filing.mailboxes
    point = selectors.mailbox_entry_point([*parsed.recipients, *inbound.envelope_to], mailboxes=mailboxes)
    inbound.message_id = parsed.message_id
    inbound.subject = parsed.subject
    inbound.from_address = parsed.from_address
    inbound.mailbox = point.address if point else ""
    inbound.full_text = parsed.text
    if "from-desk-address" not in parsed.automatic and selectors.is_desk_address(parsed.from_address,
                                                                                mailboxes=mailboxes):
        parsed.automatic = [*parsed.automatic, "from-desk-address"]  # copies of the same bytes share one parse
    inbound.automatic_reasons = parsed.automatic
    external_id = _external_id(parsed, inbound)

    duplicate = filing.duplicate_of(external_id)
    if isinstance(duplicate, _Held):  # of a message earlier in the batch, not written yet
        _finish(inbound, outcome=Outcome.DUPLICATE)
        duplicate.copies.append(inbound)
        return
    if duplicate is not None:
        message_pk, ticket_pk = duplicate
        _finish(inbound, outcome=Outcome.DUPLICATE, ticket_id=ticket_pk, message_id=message_pk)
        return
    held = filing.held_ticket_for(parsed)
    if held is not None:
        _hold_reply(inbound, parsed=parsed, external_id=external_id, held=held, filing=filing)
        return
    ticket, rule = selectors.ticket_for_mail(parsed=parsed, now=inbound.received_at, envelope_to=inbound.envelope_to,
                                             known_references=filing.references, known_threads=filing.threads,
                                             known_tags=filing.tags)
    if ticket is not None and ticket.status == Ticket.Status.CLOSED:
        ticket, rule = None, ""  # a closed ticket stays closed: the user's new mail is a new ticket
    if parsed.is_automatic:
        _file_automatic(inbound, parsed=parsed, ticket=ticket, external_id=external_id, filing=filing)
        return
    language = parsed.language or (point.default_language if point and point.default_language else None)
    if ticket is not None:
        language = ticket.language
    contact = filing.contact_for(email=parsed.from_address, name=parsed.from_name,
                                 language=language or settings.LANGUAGE_CODE)
    body = parsed.reply_text(language)
    if ticket is not None:
        if contact.pk is None:
            contact.save()
        message = add_message(ticket=ticket, direction=Message.Direction.INBOUND, body=body,
                              body_html=parsed.html, author_contact=contact, external_id=external_id,
                              created_at=inbound.received_at)
        filing.filed(external_id, message)
        filing.took_part(ticket, parsed.from_address)
        _remember_thread(ticket=ticket, parsed=parsed, inbound=inbound, mailbox=inbound.mailbox, filing=filing)
        _store_attachments([(message, parsed)])
        _remember_ids(ticket=ticket, ids=[external_id], filing=filing)
        _finish(inbound, outcome=Outcome.REPLY, ticket_id=ticket.pk, message_id=message.pk, rule=rule)
        return
    language = language or contact.language or settings.LANGUAGE_CODE
    filing.open_ticket(_NewMail(inbound=inbound, parsed=parsed, external_id=external_id, request=NewTicket(
        channel=Channel.EMAIL, contact=contact, subject=parsed.subject, body=body, body_html=parsed.html,
        external_ref=_external_ref(external_id), external_id=external_id, language=language,
        region=region_for(entry_point=inbound.mailbox, contact=contact, language=language),
        received_at=inbound.received_at, actor=Actor(label=parsed.from_address or str(contact)),
    )))


def _hold_reply(inbound: InboundEmail, *, parsed: ParsedEmail, external_id: str, held: tuple[_NewMail, str],
                filing: Filing) -> None:
    """A user's reply to a ticket opened earlier in the batch: written with that ticket."""
    mail, rule = held
    language = mail.request.language
    contact = filing.contact_for(email=parsed.from_address, name=parsed.from_name, language=language)
    reply = _HeldReply(mail=mail, inbound=inbound, parsed=parsed, contact=contact, external_id=external_id,
                       body=parsed.reply_text(language), rule=rule)
    mail.replies.append(reply)
    filing.filed(external_id, reply)
    filing.remembered([external_id], reply)


def _open_tickets_for(opening: list[_NewMail], *, filing: Filing) -> None:
    """Open the tickets of new mail (one statement per table for all), then thread, attach and acknowledge."""
    replies = [reply for mail in opening for reply in mail.replies]
    new_contacts = {id(contact): contact for contact in [*(mail.request.contact for mail in opening),
                                                          *(reply.contact for reply in replies)]
                    if contact.pk is None}
    Contact.objects.bulk_create(list(new_contacts.values()))
    threads, receipts = {}, []
    for mail, opened in zip(opening, open_tickets([mail.request for mail in opening]), strict=True):
        ticket, parsed, inbound = opened.ticket, mail.parsed, mail.inbound
        mail.ticket = ticket
        mail.message = opened.message if opened.created else ticket.messages.filter(
            external_id=mail.external_id).first()
        if opened.created:
            threads[ticket.pk] = _new_thread(ticket=ticket, parsed=parsed, inbound=inbound)
            desk_mailbox = inbound.mailbox if threads[ticket.pk] is not None else None
        else:  # the same Message-ID opened it before (a retried batch): as a reply would
            desk_mailbox = _remember_thread(ticket=ticket, parsed=parsed, inbound=inbound, mailbox=inbound.mailbox,
                                            filing=filing)
        _remember_ids(ticket=ticket, ids=[mail.external_id], filing=filing)
        _finish(inbound, outcome=Outcome.NEW_TICKET, ticket_id=ticket.pk,
                message_id=mail.message.pk if mail.message else None)
        receipts.append(Receipt(ticket=ticket, to=parsed.reply_to or parsed.from_address,
                                in_reply_to=mail.external_id,
                                references=[*parsed.references[-MAX_REFERENCES:], mail.external_id],
                                desk_mailbox=desk_mailbox))
    _file_held_replies(replies, threads=threads, filing=filing)
    MailThread.objects.bulk_create([thread for thread in threads.values() if thread is not None])
    held: list[_Held] = [*opening, *replies]
    _store_attachments([(item.message, item.parsed) for item in held if item.message is not None])
    for item in held:
        for copy in item.copies:
            copy.ticket_id = item.ticket.pk
            copy.ticket_message_id = item.message.pk if item.message else None
    if filing.receipts:
        send_receipts(receipts, mailboxes=filing.mailboxes, filing=filing)


def _file_held_replies(replies: list[_HeldReply], *, threads: dict[int, MailThread | None],
                       filing: Filing) -> None:
    """Add replies to tickets just opened in the same batch, as ``_file`` adds a reply to any ticket."""
    messages = add_messages([
        NewMessage(ticket=reply.ticket, direction=Message.Direction.INBOUND, body=reply.body,
                   body_html=reply.parsed.html, author_contact=reply.contact, external_id=reply.external_id,
                   created_at=reply.inbound.received_at)
        for reply in replies])
    for reply, message in zip(replies, messages, strict=True):
        reply.message = message
        thread = threads.get(reply.ticket.pk)
        address = _thread_address(reply.ticket, reply.parsed)
        if thread is not None and address == thread.address:
            thread.last_inbound_at = max(thread.last_inbound_at, reply.inbound.received_at)
        elif thread is None and reply.ticket.pk not in threads:  # opened before: its thread is stored
            _remember_thread(ticket=reply.ticket, parsed=reply.parsed, inbound=reply.inbound,
                             mailbox=reply.inbound.mailbox, filing=filing)
        _remember_ids(ticket=reply.ticket, ids=[reply.external_id], filing=filing)
        _finish(reply.inbound, outcome=Outcome.REPLY, ticket_id=reply.ticket.pk, message_id=message.pk,
                rule=reply.rule)


def _file_automatic(inbound: InboundEmail, *, parsed: ParsedEmail, ticket: Ticket | None,
                    external_id: str, filing: Filing) -> None:
    """An auto-reply or bounce: a note on its ticket, or the review list; never answered."""
    if ticket is None:
        _finish(inbound, outcome=Outcome.REVIEW)
        return
    heading = _("Automatic mail (%(reasons)s) from %(sender)s: %(subject)s") % {
        "reasons": ", ".join(parsed.automatic), "sender": parsed.from_address or "?", "subject": parsed.subject}
    message = add_message(ticket=ticket, direction=Message.Direction.NOTE, automatic=True,
                          body=f"{heading}\n\n{parsed.text}", external_id=external_id,
                          created_at=inbound.received_at, channel=Channel.EMAIL)
    filing.filed(external_id, message)
    _store_attachments([(message, parsed)])
    _remember_ids(ticket=ticket, ids=[external_id], filing=filing)
    _finish(inbound, outcome=Outcome.AUTOMATIC, ticket_id=ticket.pk, message_id=message.pk)


def _file_unparsed(inbound: InboundEmail, *, error: str) -> None:
    """Nothing is lost: an unreadable message becomes a flagged ticket with the raw bytes attached."""
    raw = bytes(inbound.raw)
    headers = headers_only(raw)
    found = _ADDRESS_IN_TEXT.search(headers.get("from", "") or inbound.envelope_from)
    address = found.group(0).lower()[:254] if found else ""
    point = selectors.mailbox_entry_point(list(inbound.envelope_to))
    language = (point.default_language if point and point.default_language else settings.LANGUAGE_CODE)
    contact = find_or_create_contact(email=address, language=language)
    subject = headers.get("subject", "")[:300] or _("Unreadable email")
    with translation.override(language):
        body = _("This email could not be read; the raw message is attached.")
    ticket = open_ticket(
        channel=Channel.EMAIL, contact=contact, subject=subject, body=body,
        external_ref=f"raw:{inbound.sha256}", language=language,
        region=region_for(entry_point=point.address if point else "", contact=contact, language=language),
        received_at=inbound.received_at, unparsed=True,
    )
    message = ticket.messages.order_by("pk").first()
    if message is not None and not message.attachments.filter(sha256=inbound.sha256).exists():
        add_attachment(message=message, filename="message.eml", content_type="message/rfc822", data=raw)
    inbound.error = error[:2000]
    _finish(inbound, outcome=Outcome.UNPARSED, ticket_id=ticket.pk, message_id=message.pk if message else None)


def _finish(inbound: InboundEmail, *, outcome: str, ticket_id: int | None = None,
            message_id: int | None = None, rule: str = "") -> None:
    inbound.outcome = outcome
    inbound.ticket_id = ticket_id
    inbound.ticket_message_id = message_id
    inbound.processed_at = timezone.now()
    if rule:
        log.debug("mail %s threaded onto ticket %s by %s", inbound.pk, ticket_id, rule)


def _external_ref(external_id: str) -> str:
    # Ticket.external_ref holds 255 characters; a longer Message-ID is kept by its hash.
    if len(external_id) <= 255:
        return external_id
    return "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()


def _remember_ids(*, ticket: Ticket, ids: list[str], direction: str = MailReference.Direction.INBOUND,
                  filing: Filing | None = None) -> None:
    references = [MailReference(message_id=mid, ticket=ticket, direction=direction) for mid in ids if mid]
    if filing is not None and filing.references_to_store is not None:
        # A batch threads from filing.references and writes them all when it ends.
        filing.references_to_store.extend(references)
    else:
        MailReference.objects.bulk_create(references, ignore_conflicts=True)
    if filing is not None:
        filing.remembered([mid for mid in ids if mid], ticket)


def _new_thread(*, ticket: Ticket, parsed: ParsedEmail, inbound: InboundEmail) -> MailThread | None:
    """A new ticket's mail thread (unsaved): who writes, to which desk address, about what."""
    address = _thread_address(ticket, parsed)
    if not address:
        return None
    return MailThread(ticket=ticket, address=address, mailbox=inbound.mailbox,
                      normalised_subject=normalise_subject(parsed.subject), last_inbound_at=inbound.received_at)


def _remember_thread(*, ticket: Ticket, parsed: ParsedEmail, inbound: InboundEmail, mailbox: str,
                     filing: Filing) -> str | None:
    """Record who writes about what; returns the thread's desk mailbox (None when no thread is known)."""
    address = _thread_address(ticket, parsed)
    if not address:
        return None
    thread = MailThread.objects.filter(ticket=ticket).first()
    if thread is None:
        thread = _new_thread(ticket=ticket, parsed=parsed, inbound=inbound)
        thread.mailbox = mailbox
        thread.save()
    elif address == thread.address:
        MailThread.objects.filter(pk=thread.pk).update(last_inbound_at=inbound.received_at)
    else:
        return thread.mailbox
    filing.threaded((thread.address, thread.normalised_subject) if thread.normalised_subject else None,
                    ticket, inbound.received_at)
    return thread.mailbox


def _store_attachments(items: list[tuple[Message, ParsedEmail]]) -> None:
    add_attachments([(message, part.filename, part.content_type, part.data)
                     for message, parsed in items for part in parsed.attachments])


# --- out ---------------------------------------------------------------------------

def _desk_from(ticket: Ticket) -> str:
    """Replies go out from the desk address the user wrote to; on a ticket that did not start by
    mail (a chat), from its region's mailbox."""
    mailbox = MailThread.objects.filter(ticket=ticket).values_list("mailbox", flat=True).first()
    return mailbox or mailbox_for(region_id=ticket.region_id, language=ticket.language)


def _user_address(ticket: Ticket) -> str:
    thread = MailThread.objects.filter(ticket=ticket).first()
    return (thread.address if thread else "") or ticket.contact.email


def has_address(ticket: Ticket) -> bool:
    """Whether a reply can follow up by email (the channel registry's ``reaches``)."""
    return bool(_user_address(ticket))


def _new_message_id(ticket: Ticket) -> str:
    if ticket.reference:
        return tokens.message_id(ticket.reference)
    return make_msgid(idstring="sd", domain=settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1] or "supportdesk.invalid")


def _receipt_text(ticket: Ticket) -> tuple[str, str]:
    """Subject and body of the receipt in the ticket's language: an admin's template, else ours."""
    context = {"reference": ticket.reference, "name": ticket.contact.name or "", "subject": ticket.subject}
    with translation.override(ticket.language):
        template = once(("receipt-template", ticket.channel),
                        lambda: ReceiptTemplate.objects.filter(channel=ticket.channel).first())
        if template is not None and template.subject and template.body:
            subject = template.subject.replace("{reference}", ticket.reference).replace("{name}", context["name"])
            body = template.body.replace("{reference}", ticket.reference).replace("{name}", context["name"])
        else:
            subject = render_to_string("mail/receipt_subject.txt", context).strip()
            body = render_to_string("mail/receipt_body.txt", context)
    return tagged(one_line(subject), ticket.reference), body


def _receipts_recently_sent(address: str, *, now: datetime, filing: Filing | None = None) -> int:
    if filing is not None and filing.receipts_sent is not None:
        return filing.receipts_sent.get(address.upper(), 0)
    return OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECEIPT, to_address__iexact=address,
                                        created_at__gte=now - timedelta(hours=1)).count()


def _receipts_recently_sent_to(addresses: set[str], *, now: datetime) -> dict[str, int]:
    """Receipts of the last hour by upper-cased address, for these upper-cased addresses (one query)."""
    if not addresses:
        return {}
    rows = (OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECEIPT, created_at__gte=now - timedelta(hours=1))
            .annotate(address=Upper("to_address")).filter(address__in=addresses)
            .values("address").annotate(sent=Count("pk")).values_list("address", "sent"))
    return dict(rows)


@dataclass
class Receipt:
    """An automatic receipt to send for a new ticket; ``desk_mailbox`` is its thread's desk address if known."""

    ticket: Ticket
    to: str
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    desk_mailbox: str | None = None


def send_receipts(receipts: list[Receipt], *, mailboxes: dict | None = None,
                  filing: Filing | None = None) -> list[OutboundEmail | None]:
    """Queue receipts (one insert per table for all); None for each that must not be sent.

    Never to a robot or to the desk itself, and at most
    ``MAIL_RECEIPTS_PER_SENDER_PER_HOUR`` per address: a suppressed one is noted on its ticket.
    """
    now = timezone.now()
    results: list[OutboundEmail | None] = [None] * len(receipts)
    sending, suppressed = [], []
    for index, receipt in enumerate(receipts):
        to = receipt.to
        if not to or is_robot_address(to) or selectors.is_desk_address(to, mailboxes=mailboxes):
            continue
        if _receipts_recently_sent(to, now=now, filing=filing) >= settings.MAIL_RECEIPTS_PER_SENDER_PER_HOUR:
            suppressed.append(new_event(ticket=receipt.ticket, kind=TicketEvent.Kind.MESSAGE, data={
                "event": "receipt_suppressed", "reason": "rate_limit", "to": to}))
            continue
        if filing is not None and filing.receipts_sent is not None:
            filing.receipts_sent[to.upper()] = filing.receipts_sent.get(to.upper(), 0) + 1
        sending.append((index, receipt, *_receipt_text(receipt.ticket), _new_message_id(receipt.ticket)))
    log_events(suppressed)
    messages = add_messages([
        NewMessage(ticket=receipt.ticket, direction=Message.Direction.OUTBOUND, body=body, automatic=True,
                   external_id=message_id, channel=Channel.EMAIL)
        for _index, receipt, _subject, body, message_id in sending])
    outbounds = [
        OutboundEmail(
            ticket=receipt.ticket, ticket_message=message, kind=OutboundEmail.Kind.RECEIPT,
            from_address=(receipt.desk_mailbox or settings.DEFAULT_FROM_EMAIL) if receipt.desk_mailbox is not None
            else _desk_from(receipt.ticket),
            to_address=receipt.to, subject=subject, body=body, message_id=message_id,
            in_reply_to=receipt.in_reply_to, references=" ".join(receipt.references[-MAX_REFERENCES:]))
        for (_index, receipt, subject, body, message_id), message in zip(sending, messages, strict=True)]
    OutboundEmail.objects.bulk_create(outbounds)
    for (index, receipt, _subject, _body, message_id), message, outbound in zip(sending, messages, outbounds):
        _remember_ids(ticket=receipt.ticket, ids=[message_id], direction=MailReference.Direction.OUTBOUND,
                      filing=filing)
        if filing is not None:
            filing.filed(message_id, message)
        if filing is not None and filing.deliveries is not None:
            filing.deliveries.append(outbound.pk)
        else:
            send_outbound_later([outbound.pk])
        results[index] = outbound
    return results


def _thread_ids(ticket: Ticket) -> list[str]:
    """The ticket's Message-IDs, oldest first (for References)."""
    ids = (MailReference.objects.filter(ticket=ticket).order_by("created_at", "pk")
           .values_list("message_id", flat=True))
    return [mid for mid in ids if not mid.endswith("@no-message-id.invalid>")]


@transaction.atomic
def send_reply(*, ticket: Ticket, message: Message) -> OutboundEmail:
    """Send an agent's outbound message to the user by email, threaded and tagged.

    Call it after ``tickets.services.add_message(direction="outbound", author_user=agent)``;
    the job ``deliver_outbound_job`` does the network send after the commit. A second
    call for the same message returns the first outbound mail.
    """
    existing = OutboundEmail.objects.filter(ticket_message=message).first()
    if existing is not None:
        return existing
    if message.ticket_id != ticket.pk or message.direction != Message.Direction.OUTBOUND:
        raise TicketError(_("Only the ticket's own outbound messages can be sent by email."))
    to = _user_address(ticket)
    if not to:
        raise TicketError(_("The ticket's contact has no email address."))
    ids = _thread_ids(ticket)
    last_inbound = (Message.objects.filter(ticket=ticket, channel=Channel.EMAIL,
                                           direction=Message.Direction.INBOUND)
                    .exclude(external_id="").order_by("-created_at", "-pk").values_list("external_id", flat=True)
                    .first())
    message_id = message.external_id if message.external_id.startswith("<") else _new_message_id(ticket)
    with translation.override(ticket.language):
        subject = one_line(ticket.subject) or _("Your request")
        if not re.match(r"^\s*re\s*:", subject, re.I):
            subject = _("Re: %(subject)s") % {"subject": subject}
        footer = render_to_string("mail/reply_footer.txt", {"reference": ticket.reference})
    body = f"{message.body_text.rstrip()}\n\n-- \n{footer}"
    outbound = OutboundEmail.objects.create(
        ticket=ticket, ticket_message=message, kind=OutboundEmail.Kind.REPLY, from_address=_desk_from(ticket),
        to_address=to, subject=tagged(subject, ticket.reference), body=body, message_id=message_id,
        in_reply_to=last_inbound or (ids[-1] if ids else ""), references=" ".join(ids[-MAX_REFERENCES:]))
    if not message.external_id:
        Message.objects.filter(pk=message.pk, external_id="").update(external_id=message_id)
    _remember_ids(ticket=ticket, ids=[message_id], direction=MailReference.Direction.OUTBOUND)
    send_outbound_later([outbound.pk])
    return outbound


# --- IMAP ----------------------------------------------------------------------------

@dataclass
class PollResult:
    fetched: int = 0
    too_large: list[int] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)


def poll_imap(*, folder, limit: int | None = None) -> PollResult:
    """Ingest the folder's new messages in UID order, resuming where the last run stopped.

    ``folder`` is an ``apps.mail.imap.ImapFolder`` (or anything with its methods).
    The cursor advances after each message is stored and processed; a crash before
    that re-reads the message next time, and the source key (account, UIDVALIDITY,
    UID) plus Message-ID idempotency keep it from being filed twice.
    """
    account = folder.account.key
    cursor = imap_cursor(account=account, uidvalidity=folder.uidvalidity)
    folder.done(folder.leftovers(cursor.last_uid))
    result = PollResult()
    uids = folder.uids_after(cursor.last_uid)
    if limit is not None:
        uids = uids[:limit]
    for start in range(0, len(uids), 50):
        batch = uids[start:start + 50]
        raw_by_uid = folder.fetch(batch)
        finished = []
        for uid in batch:
            raw = raw_by_uid.get(uid)
            if raw is not None:
                try:
                    inbound = ingest_email(raw=raw, source=InboundEmail.Source.IMAP,
                                           source_key=f"{account}/{folder.uidvalidity}/{uid}")
                except MessageTooLarge:
                    # Left in the folder for a person; the cursor moves on so it does not block the rest.
                    log.error("IMAP %s UID %s is over MAIL_MAX_BYTES; left in the folder", account, uid)
                    result.too_large.append(uid)
                else:
                    result.fetched += 1
                    result.outcomes[inbound.outcome] = result.outcomes.get(inbound.outcome, 0) + 1
                    finished.append(uid)
            advance_imap_cursor(account=account, uidvalidity=folder.uidvalidity, uid=uid)
        folder.done(finished)
    return result


def advance_imap_cursor(*, account: str, uidvalidity: int, uid: int) -> None:
    """Record that every UID up to ``uid`` is processed; never moves backwards."""
    ImapCursor.objects.filter(account=account, uidvalidity=uidvalidity, last_uid__lt=uid).update(last_uid=uid)


def imap_cursor(*, account: str, uidvalidity: int) -> ImapCursor:
    """The folder's cursor; a new UIDVALIDITY (the folder was rebuilt) starts again from 0.

    Starting again re-reads the folder, and Message-ID idempotency keeps that from
    duplicating tickets.
    """
    cursor, _created = ImapCursor.objects.get_or_create(account=account,
                                                        defaults={"uidvalidity": uidvalidity})
    if cursor.uidvalidity != uidvalidity:
        ImapCursor.objects.filter(pk=cursor.pk).update(uidvalidity=uidvalidity, last_uid=0)
        cursor.refresh_from_db()
    return cursor


def mark_reviewed(*, inbound: InboundEmail) -> None:
    """Take an automatic mail off the review list."""
    InboundEmail.objects.filter(pk=inbound.pk, reviewed_at__isnull=True).update(reviewed_at=timezone.now())
