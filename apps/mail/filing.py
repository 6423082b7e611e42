"""Filing stored mail on tickets: one path for one message and for many (a message is a batch of one).

Whatever arrives is stored first (``apps.mail.intake``); filing reads a batch of
stored or parsed messages, looks up what they refer to in one query per kind, and
writes their tickets, replies, notes and receipts together in one transaction, by
the same rules (``_file``) for every path: duplicate, reply, automatic, new ticket
(with receipt), unparsed. Filing is idempotent (a message whose Message-ID is
already on a ticket is recorded as a duplicate) and never loses a message: a batch
that fails is filed again one message at a time, and a message that still fails
becomes a ticket flagged ``unparsed`` with the raw message attached.
"""

import contextlib
import hashlib
import logging
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.desk.actions import add_message, add_messages, open_ticket, open_tickets
from apps.mail import outbound, parse_pool, selectors, tokens
from apps.mail.intake import MessageTooLarge, raw_fields, receive_email, too_large
from apps.mail.models import InboundEmail, MailReference, MailThread
from apps.mail.parsing import (
    ParsedEmail,
    UnparseableEmail,
    headers_only,
    parse_email,
    parse_many,
    parse_or_error,
)
from apps.mail.subjects import normalise_subject, references_in_subject
from apps.policy.languages import Channel
from apps.policy.services import region_for
from apps.tickets.models import Contact, Message, Ticket
from apps.tickets.services import (
    Actor,
    NewMessage,
    NewTicket,
    add_attachment,
    add_attachments,
    contacts_by_email,
    find_or_create_contact,
    new_contact,
)
from supportdesk.binaryinsert import bulk_insert
from supportdesk.bulkupdate import update_rows
from supportdesk.readonce import read_once

log = logging.getLogger(__name__)

Outcome = InboundEmail.Outcome
_ADDRESS_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
# Columns filing sets on a stored row.
_FILED_FIELDS = ["outcome", "ticket", "ticket_message", "processed_at", "message_id", "subject", "from_address",
                 "mailbox", "full_text", "automatic_reasons", "error"]


# --- entry points --------------------------------------------------------------------

def ingest_email(*, raw: bytes, source: str, source_key: str = "", envelope_from: str = "",
                 envelope_to: list[str] | tuple[str, ...] = (), receipts: bool = True) -> InboundEmail:
    """Store and file one message in one transaction (a file, a test, an IMAP message).

    ``receipts=False`` files a new ticket without its automatic receipt (an import of old mail).
    """
    with transaction.atomic():
        inbound = receive_email(raw=raw, source=source, source_key=source_key, envelope_from=envelope_from,
                                envelope_to=envelope_to)
        if inbound.processed_at is None:
            file_stored(inbound_ids=[inbound.pk], receipts=receipts)
        inbound.refresh_from_db()
        return inbound


def process_inbound(*, inbound_id: int) -> InboundEmail:
    """File one stored message (a batch of one); safe to call again."""
    file_stored(inbound_ids=[inbound_id])
    return InboundEmail.objects.get(pk=inbound_id)


def file_stored(*, inbound_ids: Iterable[int], receipts: bool = True) -> list[InboundEmail]:
    """File these stored messages as one batch; those already filed (or being filed elsewhere) are skipped.

    The rows are locked for the transaction, so two filers never file the same message.
    """
    with transaction.atomic():
        inbounds = list(InboundEmail.objects.select_for_update().filter(
            pk__in=list(inbound_ids), processed_at__isnull=True).order_by("received_at", "pk"))
        _file_items([(inbound, None) for inbound in inbounds], receipts=receipts, insert=False)
    return inbounds


def file_pending(*, batch_size: int | None = None, older_than: timedelta | None = None,
                 until: Callable[[], bool] | None = None, processes: int = 1,
                 ahead: "ParseAhead | None" = None) -> int:
    """File stored messages that no filer holds, a batch at a time, until none is left; returns how many.

    The live paths' filer (``jobs.file_pending_job``) and the sweep. Each batch claims
    up to ``batch_size`` pending rows with ``SELECT … FOR UPDATE SKIP LOCKED``
    (PostgreSQL; SQLite has one writer), so filers running at once never wait for or
    file each other's rows, and files them in one transaction. With ``processes``
    above 1 the next batch is parsed in that many worker processes while this one is
    filed, as the bulk import does (``ParseAhead``; pass ``ahead`` to keep that parse
    for a later call). ``older_than`` leaves the newest alone; once ``until()`` is true
    it stops at the end of a batch (it files one at least).
    """
    batch_size = batch_size or settings.MAIL_FILING_BATCH
    done = 0
    before = (lambda: timezone.now() - older_than) if older_than is not None else (lambda: None)
    with (contextlib.nullcontext(ahead) if ahead is not None else ParseAhead(processes)) as ahead:
        while not done or until is None or not until():
            with transaction.atomic():
                inbounds = ahead.claim(batch_size=batch_size, older_than=before())
                if not inbounds:
                    return done
                parsed = ahead.results(inbounds)
                ahead.start(selectors.pending_inbound(older_than=before()).exclude(
                    pk__in=[inbound.pk for inbound in inbounds]).values_list("pk", "sha256", "raw")[:batch_size])
                _file_items([(inbound, parsed.get(inbound.pk)) for inbound in inbounds], receipts=True, insert=False)
            done += len(inbounds)
    return done


class ParseAhead:
    """Parses the next batch of stored mail in worker processes while the filer files the current one.

    The next claim takes the rows parsed ahead that are still pending, not the oldest
    rows: those include rows stored after the parse-ahead began, whose parse the filer
    would wait for; they go into the next parse-ahead instead. Parsing is pure, so what
    another filer claimed meanwhile was only parsed for nothing, and a parse is used only
    for the bytes it was made from (their SHA-256). The workers are this process's
    (``parse_pool``), kept from job to job; so is the mail worker's ``ParseAhead``
    (``jobs.file_pending_job``), so a job that hands over leaves its next batch parsed for
    the next job. With one process there is no pool and ``_file_items`` parses as it files.
    """

    def __init__(self, processes: int):
        self.processes = processes
        self.pending: tuple[list[tuple[int, str]], parse_pool.Parses] | None = None

    def __enter__(self) -> "ParseAhead":
        return self

    def __exit__(self, *exc) -> None:
        if self.pending is not None:
            self.pending[1].cancel()
            self.pending = None

    def claim(self, *, batch_size: int, older_than: datetime | None) -> list[InboundEmail]:
        """Lock the next batch: the rows parsed ahead that no filer took, else up to ``batch_size`` of the oldest."""
        pending = selectors.pending_inbound(older_than=older_than)
        if self.pending is not None:
            # Their bytes were read for the parse: not read again.
            parsed_ahead = list(pending.filter(pk__in=[pk for pk, _sha in self.pending[0]]).defer("raw")
                                .select_for_update(skip_locked=True))
            if parsed_ahead:
                return parsed_ahead
        return list(pending.select_for_update(skip_locked=True)[:batch_size])

    def start(self, rows) -> None:
        """Begin parsing ``(pk, sha256, raw)`` rows, the likely next batch."""
        if self.processes <= 1:
            return
        rows = list(rows)
        if rows:
            self.pending = ([(pk, sha) for pk, sha, _raw in rows],
                            parse_pool.Parses(parse_or_error, [bytes(raw) for _pk, _sha, raw in rows],
                                              processes=self.processes))

    def results(self, inbounds: list[InboundEmail]) -> dict[int, "ParsedEmail | UnparseableEmail"]:
        """The parses of these claimed rows: those parsed ahead, the rest parsed now (in the pool)."""
        if self.processes <= 1:
            return {}
        parsed: dict = {}
        if self.pending is not None:
            keys, parses = self.pending
            self.pending = None
            parsed = dict(zip(keys, parses.results(), strict=True))
        parsed = {inbound.pk: parsed[inbound.pk, inbound.sha256] for inbound in inbounds
                  if (inbound.pk, inbound.sha256) in parsed}
        missing = [inbound for inbound in inbounds if inbound.pk not in parsed]
        if missing:
            parsed.update(zip([inbound.pk for inbound in missing],
                              parse_pool.Parses(parse_or_error, [bytes(inbound.raw) for inbound in missing],
                                                processes=self.processes).results(), strict=True))
        return parsed


def process_pending(*, older_than: timedelta = timedelta(minutes=2)) -> int:
    """File stored messages a crash or a lost job left behind; returns how many."""
    return file_pending(older_than=older_than)


def ingest_many(raws: Iterable[bytes], *, source: str, jobs: int = 1, batch_size: int = 200,
                receipts: bool = True) -> Iterator[InboundEmail | MessageTooLarge]:
    """Store and file many messages (a mailbox migration, a backlog): one result per message, in order.

    Parsing runs in ``jobs`` worker processes while this process files what came
    before, up to ``batch_size`` messages per transaction: a reply to a message
    earlier in the same batch threads, a Message-ID twice in one batch is a
    duplicate, and every message's raw bytes are stored. Too large messages are not
    stored; their ``MessageTooLarge`` is yielded in their place. ``receipts=False``
    opens tickets without automatic receipts (old mail being imported).
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
        too_large(raw) if parsed is None else None for raw, parsed in items]
    todo = [(index, InboundEmail(source=source, **raw_fields(raw)), parsed)
            for index, (raw, parsed) in enumerate(items) if parsed is not None]
    if todo:
        _file_items([(inbound, parsed) for _index, inbound, parsed in todo], receipts=receipts, insert=True)
    for index, inbound, _parsed in todo:
        results[index] = inbound
    return results


def mark_reviewed(*, inbound: InboundEmail) -> None:
    """Take an automatic mail off the review list."""
    InboundEmail.objects.filter(pk=inbound.pk, reviewed_at__isnull=True).update(reviewed_at=timezone.now())


# --- one batch, all or nothing ---------------------------------------------------------

def _file_items(items: list[tuple[InboundEmail, "ParsedEmail | UnparseableEmail | None"]], *,
                receipts: bool, insert: bool) -> None:
    """File a batch in one transaction (a savepoint inside the caller's).

    ``insert``: the rows are new and written with the batch; otherwise they are
    stored rows, locked by the caller. A batch that fails for anything but the
    database is rolled back and filed one message at a time, so a bad message never
    takes its neighbours with it; a message that fails alone is kept raw on a
    flagged ticket. Database outages escape (stored rows stay pending for the sweep).
    """
    try:
        with transaction.atomic(), read_once():
            _file_batch([(inbound, _parse(bytes(inbound.raw)) if parsed is None else parsed)
                         for inbound, parsed in items], receipts=receipts, insert=insert)
        return
    except Exception as error:
        if _database_unavailable(error):
            raise
        if len(items) > 1:
            log.exception("a batch of %d messages failed; filing them one by one", len(items))
            for inbound, _parsed in items:
                # Parsed again: the failed attempt may have changed the parse or the row.
                _file_items([(_fresh(inbound, insert=insert), None)], receipts=receipts, insert=insert)
            return
        inbound = _fresh(items[0][0], insert=insert)
        log.exception("mail %s could not be filed; keeping it raw on a flagged ticket", inbound.pk)
        with transaction.atomic(), read_once():
            _file_unparsed(inbound, error=f"{type(error).__name__}: {error}")
            _save_rows([inbound], insert=insert)


def _fresh(inbound: InboundEmail, *, insert: bool) -> InboundEmail:
    """The row as stored (or as it would be stored) before a failed attempt changed it."""
    if not insert:
        return InboundEmail.objects.get(pk=inbound.pk)
    # The caller reads its results from the objects it passed: reset this one in place.
    again = InboundEmail(source=inbound.source, source_key=inbound.source_key, raw=inbound.raw, size=inbound.size,
                         sha256=inbound.sha256, envelope_from=inbound.envelope_from,
                         envelope_to=inbound.envelope_to, received_at=inbound.received_at)
    inbound.__dict__.update({key: value for key, value in again.__dict__.items() if key != "_state"})
    inbound._state.fields_cache = {}
    return inbound


def _file_batch(items: list[tuple[InboundEmail, "ParsedEmail | UnparseableEmail"]], *,
                receipts: bool, insert: bool) -> None:
    filing = Filing.prepare(items, receipts=receipts)
    for inbound, parsed in items:
        _file(inbound, parsed, filing=filing)
    filing.flush()
    _save_rows([inbound for inbound, _parsed in items], insert=insert)
    MailReference.objects.bulk_create(filing.references_to_store, ignore_conflicts=True)
    if filing.deliveries:
        outbound.send_outbound_later(filing.deliveries)


def _save_rows(inbounds: list[InboundEmail], *, insert: bool) -> None:
    if insert:
        # One statement for the whole batch: the rows are complete, and commit with their tickets.
        bulk_insert(inbounds)
    elif len(inbounds) == 1:
        inbounds[0].save(update_fields=_FILED_FIELDS)
    else:
        update_rows(inbounds, _FILED_FIELDS)


def _database_unavailable(error: Exception) -> bool:
    return isinstance(error, (OperationalError, InterfaceError))


# --- the rules every path shares ---------------------------------------------------

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


@dataclass(eq=False, kw_only=True)
class _Reply(_Held):
    """A user's message that continues a ticket: written with the batch's other messages."""

    inbound: InboundEmail
    parsed: ParsedEmail
    contact: Contact
    body: str
    external_id: str
    rule: str
    message: Message | None = None
    copies: list[InboundEmail] = field(default_factory=list)


@dataclass(eq=False, kw_only=True)
class _HeldReply(_Reply):
    """A reply to a ticket opened earlier in the same batch."""

    mail: _NewMail

    @property
    def ticket(self) -> Ticket | None:
        return self.mail.ticket


@dataclass(eq=False, kw_only=True)
class _AddedReply(_Reply):
    """A reply to a ticket filed before the batch."""

    ticket: Ticket


@dataclass
class Filing:
    """What filing looks up besides the message itself, and the new tickets not written yet.

    ``references`` (Message-ID -> ticket id), ``messages`` (email external id ->
    (message id, ticket id)), ``threads`` ((sender, normalised subject) -> (ticket
    id, last inbound)), ``tags`` (reference tagged in a subject -> its ticket and
    participants) and ``contacts`` (upper-cased address -> contact) are read for
    all the batch's messages in one query each (a single message is a batch of
    one), and each message filed adds to them, so a reply to a message earlier in
    the same batch threads and the second copy of a Message-ID in one batch is a
    duplicate.

    A batch also holds its new tickets (``opening``) and its replies to older tickets
    (``adding``) and writes them together in ``flush``: at the end of the batch, or as
    soon as a message refers to a held ticket. Until then the maps above name the held
    message in place of an id. ``tickets`` and their ``mail_threads`` (None: none), by
    ticket id, are read once for the tickets the batch refers to; the threads are changed
    in memory and ``flush`` writes the changed ones.
    """

    mailboxes: dict
    references: dict[str, "int | _Held"]
    messages: dict[str, "tuple[int, int] | _Held"]
    threads: dict[tuple[str, str], "tuple[int | _NewMail, datetime]"]
    tags: dict[str, selectors.Tagged]
    contacts: dict[str, Contact]
    # Receipts sent in the last hour by upper-cased address, for the rate limit.
    receipts_sent: dict[str, int]
    receipts: bool = True   # False: new tickets get no automatic receipt (an import of old mail)
    opening: list[_NewMail] = field(default_factory=list)
    adding: list[_AddedReply] = field(default_factory=list)
    tickets: dict[int, Ticket] = field(default_factory=dict)
    mail_threads: dict[int, MailThread | None] = field(default_factory=dict)
    threads_to_save: dict[int, MailThread] = field(default_factory=dict)
    # The batch writes its Message-IDs in one statement and sends its receipts in one job once it commits.
    references_to_store: list[MailReference] = field(default_factory=list)
    deliveries: list[int] = field(default_factory=list)

    @classmethod
    def prepare(cls, items: list[tuple[InboundEmail, "ParsedEmail | UnparseableEmail"]], *,
              receipts: bool = True) -> "Filing":
        parsed = [(inbound, p) for inbound, p in items if isinstance(p, ParsedEmail)]
        wanted = {mid for _inbound, p in parsed for mid in [*p.thread_ids, *p.bounced_message_ids]}
        people = [p for _inbound, p in parsed if not p.is_automatic]
        receivers = {(p.reply_to or p.from_address).upper() for p in people}
        now = timezone.now()
        references = selectors.references_to_tickets(wanted)
        threads = selectors.recent_threads({_thread_key(p) for p in people} - {None}, now=now)
        tags = selectors.tagged_tickets({reference for _inbound, p in parsed
                                         for reference in references_in_subject(p.subject)})
        tickets, mail_threads = selectors.tickets_with_threads(
            {*references.values(), *(ticket_id for ticket_id, _at in threads.values()),
             *(tagged.ticket_id for tagged in tags.values() if tagged.ticket_id)})
        return cls(mailboxes=selectors.desk_mailboxes(), receipts=receipts, references=references,
                   tickets=tickets, mail_threads=mail_threads, tags=tags,
                   messages=selectors.email_messages_by_external_id(
                       {_external_id(p, inbound) for inbound, p in parsed}),
                   threads=threads,
                   contacts=contacts_by_email({p.from_address for p in people}),
                   receipts_sent=selectors.receipts_sent_last_hour(receivers - {""}, now=now))

    def duplicate_of(self, external_id: str) -> "tuple[int, int] | _Held | None":
        """(message id, ticket id) of the email message already filed under this id, or its held message."""
        return self.messages.get(external_id)

    def filed(self, external_id: str, message: "Message | _Held | None") -> None:
        if message is not None:
            self.messages.setdefault(external_id, message if isinstance(message, _Held)
                                     else (message.pk, message.ticket_id))

    def remembered(self, ids: list[str], ticket: "Ticket | _Held") -> None:
        for message_id in ids:
            self.references.setdefault(message_id, ticket if isinstance(ticket, _Held) else ticket.pk)

    def threaded(self, key: tuple[str, str] | None, ticket: "Ticket | _NewMail", at: datetime) -> None:
        """The sender wrote about this subject on this ticket at ``at`` (the latest thread wins)."""
        if key is None:
            return
        known = self.threads.get(key)
        if known is None or at >= known[1]:
            self.threads[key] = (ticket if isinstance(ticket, _NewMail) else ticket.pk, at)

    def took_part(self, ticket: Ticket, address: str) -> None:
        """The address sent mail on the ticket: a later tag of it from the same address threads."""
        for known in self.tags.values():
            if known.ticket_id == ticket.pk and address:
                known.participants.add(address.lower())

    def contact_for(self, *, email: str, name: str, language: str) -> Contact:
        """The sender's contact; the batch's new contacts are written with its tickets."""
        if not email:  # nobody to find: a new contact, as find_or_create_contact makes
            return new_contact(name=name, language=language)
        contact = self.contacts.get(email.upper())
        if contact is None:
            contact = self.contacts[email.upper()] = new_contact(email=email, name=name, language=language)
        return contact

    def open_ticket(self, mail: _NewMail) -> None:
        """Hold the message's new ticket, to be opened with the batch's others (``flush``)."""
        self.opening.append(mail)
        self.filed(mail.external_id, mail)
        self.remembered([mail.external_id], mail)
        self.threaded(_thread_key(mail.parsed), mail, mail.inbound.received_at)

    def held_ticket_for(self, parsed: ParsedEmail) -> "tuple[_NewMail, str] | None":
        """The batch's held new ticket this message continues, and the rule, by ``ticket_for_mail``'s rules.

        None when it continues nothing held. Automatic mail about a held ticket, and a
        subject tag or a thread token beside a held thread, write the held tickets first
        so the database answers as for any other message.
        """
        if not self.opening:
            return None
        references = self.references
        known = [(references[mid], rule) for ids, rule in ((parsed.thread_ids, "message-id"),
                                                            (parsed.bounced_message_ids, "bounce"))
                 for mid in ids if mid in references]
        if known:  # the first id the desk knows decides, held or not
            held, rule = known[0]
        else:
            thread = self.threads.get(_thread_key(parsed)) if not parsed.is_automatic else None
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

    def add_reply(self, reply: _AddedReply) -> None:
        """Hold a reply to a ticket filed before the batch, to be added with the batch's others (``flush``)."""
        self.adding.append(reply)
        self.filed(reply.external_id, reply)

    def thread_of(self, ticket: Ticket) -> MailThread | None:
        """The ticket's mail thread as this batch left it (read when the batch did not read it yet)."""
        if ticket.pk not in self.mail_threads:
            self.mail_threads[ticket.pk] = MailThread.objects.filter(ticket=ticket).first()
        return self.mail_threads[ticket.pk]

    def keep_thread(self, thread: MailThread) -> None:
        """A thread made or changed by the batch: ``flush`` writes it."""
        self.mail_threads[thread.ticket_id] = self.threads_to_save[thread.ticket_id] = thread

    def flush(self) -> None:
        """Write the held replies and new tickets, then put ids in the maps in place of the held messages."""
        adding, self.adding = self.adding, []
        opening, self.opening = self.opening, []
        if adding:
            _add_replies(adding, filing=self)
        if opening:
            _open_tickets_for(opening, filing=self)
        if self.threads_to_save:
            threads, self.threads_to_save = list(self.threads_to_save.values()), {}
            stored = [thread for thread in threads if thread.pk is not None]
            MailThread.objects.bulk_create([thread for thread in threads if thread.pk is None])
            update_rows(stored, ["last_inbound_at"])
        if not (adding or opening):
            return
        for mapping in (self.references, self.threads):
            for key, value in mapping.items():
                if isinstance(value, _Held):
                    mapping[key] = value.ticket.pk
                elif isinstance(value, tuple) and isinstance(value[0], _Held):
                    mapping[key] = (value[0].ticket.pk, value[1])
        for key, value in list(self.messages.items()):
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
                                             known_tags=filing.tags, known_tickets=filing.tickets)
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
        filing.add_reply(_AddedReply(ticket=ticket, inbound=inbound, parsed=parsed, contact=contact, body=body,
                                     external_id=external_id, rule=rule))
        filing.took_part(ticket, parsed.from_address)
        _remember_thread(ticket=ticket, parsed=parsed, inbound=inbound, mailbox=inbound.mailbox, filing=filing)
        _remember_ids(ticket=ticket, ids=[external_id], filing=filing)
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


def _add_replies(replies: list[_AddedReply], *, filing: Filing) -> None:
    """Add the batch's replies to tickets filed before it (one statement per table for all), then attach."""
    new_contacts = {id(reply.contact): reply.contact for reply in replies if reply.contact.pk is None}
    Contact.objects.bulk_create(list(new_contacts.values()))
    # One object per ticket, as reading it again after each reply would give: a ticket the first reply
    # reopened is not reopened again by the second.
    tickets = {}
    messages = add_messages([
        NewMessage(ticket=tickets.setdefault(reply.ticket.pk, reply.ticket), direction=Message.Direction.INBOUND,
                   body=reply.body, body_html=reply.parsed.html, author_contact=reply.contact,
                   external_id=reply.external_id, created_at=reply.inbound.received_at)
        for reply in replies])
    for reply, message in zip(replies, messages, strict=True):
        reply.message = message
        _finish(reply.inbound, outcome=Outcome.REPLY, ticket_id=reply.ticket.pk, message_id=message.pk,
                rule=reply.rule)
        for copy in reply.copies:
            copy.ticket_id, copy.ticket_message_id = reply.ticket.pk, message.pk
    _store_attachments([(reply.message, reply.parsed) for reply in replies])


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
            threads[ticket.pk] = filing.mail_threads[ticket.pk] = _new_thread(ticket=ticket, parsed=parsed,
                                                                              inbound=inbound)
            desk_mailbox = inbound.mailbox if threads[ticket.pk] is not None else None
        else:  # the same Message-ID opened it before (a retried batch): as a reply would
            desk_mailbox = _remember_thread(ticket=ticket, parsed=parsed, inbound=inbound, mailbox=inbound.mailbox,
                                            filing=filing)
        _remember_ids(ticket=ticket, ids=[mail.external_id], filing=filing)
        _finish(inbound, outcome=Outcome.NEW_TICKET, ticket_id=ticket.pk,
                message_id=mail.message.pk if mail.message else None)
        receipts.append(outbound.Receipt(ticket=ticket, to=parsed.reply_to or parsed.from_address,
                                in_reply_to=mail.external_id,
                                references=[*parsed.references[-outbound.MAX_REFERENCES:], mail.external_id],
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
        _send_receipts(receipts, filing=filing)


def _send_receipts(receipts: list[outbound.Receipt], *, filing: Filing) -> None:
    """Queue the receipts; the batch threads from their Message-IDs and delivers them once it commits."""
    for mail in outbound.send_receipts(receipts, mailboxes=filing.mailboxes, sent_last_hour=filing.receipts_sent):
        if mail is None:
            continue
        _remember_ids(ticket=mail.ticket, ids=[mail.message_id], direction=MailReference.Direction.OUTBOUND,
                      filing=filing)
        filing.filed(mail.message_id, mail.ticket_message)
        filing.deliveries.append(mail.pk)


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


def _remember_ids(*, ticket: Ticket, ids: list[str], filing: Filing,
                  direction: str = MailReference.Direction.INBOUND) -> None:
    # The batch threads from filing.references and writes them all when it ends.
    filing.references_to_store.extend(
        MailReference(message_id=mid, ticket=ticket, direction=direction) for mid in ids if mid)
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
    thread = filing.thread_of(ticket)
    if thread is None:
        thread = _new_thread(ticket=ticket, parsed=parsed, inbound=inbound)
        thread.mailbox = mailbox
    elif address == thread.address:
        thread.last_inbound_at = inbound.received_at
    else:
        return thread.mailbox
    filing.keep_thread(thread)   # written with the batch (``Filing.flush``)
    filing.threaded((thread.address, thread.normalised_subject) if thread.normalised_subject else None,
                    ticket, inbound.received_at)
    return thread.mailbox


def _store_attachments(items: list[tuple[Message, ParsedEmail]]) -> None:
    add_attachments([(message, part.filename, part.content_type, part.data)
                     for message, parsed in items for part in parsed.attachments])


