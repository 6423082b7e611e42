"""Every write of the mail app: store what arrives, turn it into tickets, send receipts and replies.

All four intake paths (``ingest_email`` files, the SMTP listener, the IMAP poller
and the inbound webhook) call ``receive_email`` to store the raw bytes first and
``process_inbound`` to parse and file them, so they behave the same. Processing is
idempotent (a message whose Message-ID is already on a ticket is recorded as a
duplicate) and never loses a message: whatever cannot be read becomes a ticket
flagged ``unparsed`` with the raw message attached.
"""

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.utils import make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.mail import language as mail_language
from apps.mail import selectors
from apps.mail.loops import is_robot_address
from apps.mail.models import ImapCursor, InboundEmail, MailReference, MailThread, OutboundEmail
from apps.mail.parsing import ParsedEmail, UnparseableEmail, headers_only, parse_email
from apps.mail.replies import latest_reply
from apps.mail.subjects import normalise_subject, tagged
from apps.policy.languages import Channel
from apps.policy.services import region_for
from apps.tickets.models import Message, ReceiptTemplate, Ticket, TicketEvent
from apps.tickets.services import (
    Actor,
    TicketError,
    add_attachment,
    add_message,
    find_or_create_contact,
    log_event,
    open_ticket,
)
from supportdesk.jobs import enqueue_on_commit

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
    if len(raw) > settings.MAIL_MAX_BYTES:
        raise MessageTooLarge(_("The message is %(size)d bytes; the limit is %(limit)d bytes.")
                              % {"size": len(raw), "limit": settings.MAIL_MAX_BYTES})
    fields = {"raw": raw, "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
              "envelope_from": envelope_from[:998], "envelope_to": [str(a)[:254] for a in envelope_to][:100],
              "received_at": timezone.now()}
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


def queue_processing(*, inbound: InboundEmail) -> None:
    """Process a stored message in the mail worker once its row is committed."""
    enqueue_on_commit("mail", "apps.mail.jobs.process_inbound_job", inbound.pk)


def ingest_email(*, raw: bytes, source: str, source_key: str = "", envelope_from: str = "",
                 envelope_to: list[str] | tuple[str, ...] = ()) -> InboundEmail:
    """Store and process in one transaction: the path of the command, the webhook and the IMAP poller.

    These callers still hold the message (a file, a provider that retries, an IMAP
    folder), so one commit covering both is as safe as two and half the cost.
    """
    with transaction.atomic():
        inbound = receive_email(raw=raw, source=source, source_key=source_key, envelope_from=envelope_from,
                                envelope_to=envelope_to)
        if inbound.processed_at is not None:
            return inbound
        if source_key:  # it may be a row another poller stored: lock it before processing
            inbound = InboundEmail.objects.select_for_update().get(pk=inbound.pk)
        return _process_locked(inbound)


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


def _process_locked(inbound: InboundEmail) -> InboundEmail:
    """Process a locked row; an unexpected error files the raw message on a flagged ticket instead.

    The attempt runs in a savepoint, so a bug or a constraint nobody foresaw rolls
    back only the attempt and no exception escapes for a bad message. Database
    outages do escape (the row stays pending for ``process_pending``).
    """
    if inbound.processed_at is not None:
        return inbound
    try:
        with transaction.atomic():
            _process(inbound)
    except Exception as error:
        if _database_unavailable(error):
            raise
        log.exception("mail %s could not be filed; keeping it raw on a flagged ticket", inbound.pk)
        with transaction.atomic():
            _file_unparsed(inbound, error=f"{type(error).__name__}: {error}")
    return inbound


def _database_unavailable(error: Exception) -> bool:
    from django.db import InterfaceError, OperationalError

    return isinstance(error, (OperationalError, InterfaceError))


def _process(inbound: InboundEmail) -> None:
    raw = bytes(inbound.raw)
    try:
        parsed = parse_email(raw)
    except UnparseableEmail as error:
        _file_unparsed(inbound, error=str(error))
        return
    mailboxes = selectors.desk_mailboxes()
    point = selectors.mailbox_entry_point([*parsed.recipients, *inbound.envelope_to], mailboxes=mailboxes)
    inbound.message_id = parsed.message_id
    inbound.subject = parsed.subject
    inbound.from_address = parsed.from_address
    inbound.mailbox = point.address if point else ""
    inbound.full_text = parsed.text
    if selectors.is_desk_address(parsed.from_address, mailboxes=mailboxes):
        parsed.automatic.append("from-desk-address")
    inbound.automatic_reasons = parsed.automatic
    external_id = parsed.message_id or f"<{inbound.sha256}@no-message-id.invalid>"

    duplicate = Message.objects.filter(channel=Channel.EMAIL, external_id=external_id).only("id", "ticket").first()
    if duplicate is not None:
        _finish(inbound, outcome=Outcome.DUPLICATE, ticket=duplicate.ticket, message=duplicate)
        return
    ticket, rule = selectors.ticket_for_mail(parsed=parsed, now=inbound.received_at)
    if ticket is not None and ticket.status == Ticket.Status.CLOSED:
        ticket, rule = None, ""  # a closed ticket stays closed: the user's new mail is a new ticket
    if parsed.is_automatic:
        _file_automatic(inbound, parsed=parsed, ticket=ticket, external_id=external_id)
        return
    language = mail_language.language_of(
        content_language=parsed.content_language, text=parsed.text,
        default=(point.default_language if point and point.default_language else None))
    if ticket is not None:
        language = ticket.language
    contact = find_or_create_contact(email=parsed.from_address, name=parsed.from_name,
                                     language=language or settings.LANGUAGE_CODE)
    body = latest_reply(parsed.text, language=language)
    if ticket is not None:
        message = add_message(ticket=ticket, direction=Message.Direction.INBOUND, body=body,
                              body_html=parsed.html, author_contact=contact, external_id=external_id,
                              created_at=inbound.received_at)
        _remember_thread(ticket=ticket, parsed=parsed, inbound=inbound, mailbox=inbound.mailbox)
        _store_attachments(message=message, parsed=parsed)
        _remember_ids(ticket=ticket, ids=[external_id])
        _finish(inbound, outcome=Outcome.REPLY, ticket=ticket, message=message, rule=rule)
        return
    language = language or contact.language or settings.LANGUAGE_CODE
    ticket = open_ticket(
        channel=Channel.EMAIL, contact=contact, subject=parsed.subject, body=body, body_html=parsed.html,
        external_ref=_external_ref(external_id), external_id=external_id, language=language,
        region=region_for(entry_point=inbound.mailbox, contact=contact, language=language),
        received_at=inbound.received_at, actor=Actor(label=parsed.from_address or str(contact)),
    )
    message = ticket.messages.filter(external_id=external_id).first()
    _remember_thread(ticket=ticket, parsed=parsed, inbound=inbound, mailbox=inbound.mailbox)
    if message is not None:
        _store_attachments(message=message, parsed=parsed)
    _remember_ids(ticket=ticket, ids=[external_id])
    _finish(inbound, outcome=Outcome.NEW_TICKET, ticket=ticket, message=message)
    send_receipt(ticket=ticket, to=parsed.reply_to or parsed.from_address, in_reply_to=external_id,
                 references=[*parsed.references[-MAX_REFERENCES:], external_id], mailboxes=mailboxes)


def _file_automatic(inbound: InboundEmail, *, parsed: ParsedEmail, ticket: Ticket | None,
                    external_id: str) -> None:
    """An auto-reply or bounce: a note on its ticket, or the review list; never answered."""
    if ticket is None:
        _finish(inbound, outcome=Outcome.REVIEW)
        return
    heading = _("Automatic mail (%(reasons)s) from %(sender)s: %(subject)s") % {
        "reasons": ", ".join(parsed.automatic), "sender": parsed.from_address or "?", "subject": parsed.subject}
    message = add_message(ticket=ticket, direction=Message.Direction.NOTE, automatic=True,
                          body=f"{heading}\n\n{parsed.text}", external_id=external_id,
                          created_at=inbound.received_at, channel=Channel.EMAIL)
    _store_attachments(message=message, parsed=parsed)
    _remember_ids(ticket=ticket, ids=[external_id])
    _finish(inbound, outcome=Outcome.AUTOMATIC, ticket=ticket, message=message)


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
    _finish(inbound, outcome=Outcome.UNPARSED, ticket=ticket, message=message)


def _finish(inbound: InboundEmail, *, outcome: str, ticket: Ticket | None = None,
            message: Message | None = None, rule: str = "") -> None:
    inbound.outcome = outcome
    inbound.ticket = ticket
    inbound.ticket_message = message
    inbound.processed_at = timezone.now()
    inbound.save(update_fields=["outcome", "ticket", "ticket_message", "processed_at", "message_id", "subject",
                                "from_address", "mailbox", "full_text", "automatic_reasons", "error"])
    if rule:
        log.debug("mail %s threaded onto %s by %s", inbound.pk, ticket, rule)


def _external_ref(external_id: str) -> str:
    # Ticket.external_ref holds 255 characters; a longer Message-ID is kept by its hash.
    if len(external_id) <= 255:
        return external_id
    return "sha256:" + hashlib.sha256(external_id.encode()).hexdigest()


def _remember_ids(*, ticket: Ticket, ids: list[str], direction: str = MailReference.Direction.INBOUND) -> None:
    MailReference.objects.bulk_create(
        [MailReference(message_id=mid, ticket=ticket, direction=direction) for mid in ids if mid],
        ignore_conflicts=True)


def _remember_thread(*, ticket: Ticket, parsed: ParsedEmail, inbound: InboundEmail, mailbox: str) -> None:
    address = (parsed.from_address or ticket.contact.email or "").lower()
    if not address:
        return
    thread = MailThread.objects.filter(ticket=ticket).first()
    if thread is None:
        MailThread.objects.create(ticket=ticket, address=address, mailbox=mailbox,
                                  normalised_subject=normalise_subject(parsed.subject),
                                  last_inbound_at=inbound.received_at)
    elif address == thread.address:
        MailThread.objects.filter(pk=thread.pk).update(last_inbound_at=inbound.received_at)


def _store_attachments(*, message: Message, parsed: ParsedEmail) -> None:
    for part in parsed.attachments:
        add_attachment(message=message, filename=part.filename, content_type=part.content_type, data=part.data)


# --- out ---------------------------------------------------------------------------

def _desk_from(ticket: Ticket) -> str:
    """Replies go out from the desk address the user wrote to."""
    mailbox = MailThread.objects.filter(ticket=ticket).values_list("mailbox", flat=True).first()
    return mailbox or settings.DEFAULT_FROM_EMAIL


def _user_address(ticket: Ticket) -> str:
    thread = MailThread.objects.filter(ticket=ticket).first()
    return (thread.address if thread else "") or ticket.contact.email


def _new_message_id(ticket: Ticket) -> str:
    domain = settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1] or "supportdesk.invalid"
    return make_msgid(idstring=(ticket.reference or "sd").lower(), domain=domain)


def _receipt_text(ticket: Ticket) -> tuple[str, str]:
    """Subject and body of the receipt in the ticket's language: an admin's template, else ours."""
    context = {"reference": ticket.reference, "name": ticket.contact.name or "", "subject": ticket.subject}
    with translation.override(ticket.language):
        template = ReceiptTemplate.objects.filter(channel=ticket.channel).first()
        if template is not None and template.subject and template.body:
            subject = template.subject.replace("{reference}", ticket.reference).replace("{name}", context["name"])
            body = template.body.replace("{reference}", ticket.reference).replace("{name}", context["name"])
        else:
            subject = render_to_string("mail/receipt_subject.txt", context).strip()
            body = render_to_string("mail/receipt_body.txt", context)
    return tagged(subject, ticket.reference), body


def _receipts_recently_sent(address: str, *, now: datetime) -> int:
    return OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECEIPT, to_address__iexact=address,
                                        created_at__gte=now - timedelta(hours=1)).count()


def send_receipt(*, ticket: Ticket, to: str, in_reply_to: str = "", references: list[str] | None = None,
                 mailboxes: dict | None = None) -> OutboundEmail | None:
    """Queue the automatic receipt; it never stops a clock. None when it must not be sent."""
    now = timezone.now()
    if not to or is_robot_address(to) or selectors.is_desk_address(to, mailboxes=mailboxes):
        return None
    if _receipts_recently_sent(to, now=now) >= settings.MAIL_RECEIPTS_PER_SENDER_PER_HOUR:
        log_event(ticket=ticket, kind=TicketEvent.Kind.MESSAGE,
                  data={"event": "receipt_suppressed", "reason": "rate_limit", "to": to})
        return None
    subject, body = _receipt_text(ticket)
    message_id = _new_message_id(ticket)
    message = add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, body=body, automatic=True,
                          external_id=message_id, channel=Channel.EMAIL)
    outbound = OutboundEmail.objects.create(
        ticket=ticket, ticket_message=message, kind=OutboundEmail.Kind.RECEIPT, from_address=_desk_from(ticket),
        to_address=to, subject=subject, body=body, message_id=message_id, in_reply_to=in_reply_to,
        references=" ".join((references or [])[-MAX_REFERENCES:]))
    _remember_ids(ticket=ticket, ids=[message_id], direction=MailReference.Direction.OUTBOUND)
    enqueue_on_commit("mail", "apps.mail.jobs.deliver_outbound_job", outbound.pk)
    return outbound


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
        subject = ticket.subject or _("Your request")
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
    enqueue_on_commit("mail", "apps.mail.jobs.deliver_outbound_job", outbound.pk)
    return outbound


def deliver_outbound(*, outbound_id: int) -> bool:
    """Send one queued mail over SMTP; safe to rerun (a sent mail is not sent again).

    Runs outside any transaction: the row is claimed by a conditional UPDATE, the
    network call holds no lock, and the result is written afterwards.
    """
    claimed = OutboundEmail.objects.filter(
        pk=outbound_id, status__in=[OutboundEmail.Status.QUEUED, OutboundEmail.Status.FAILED],
    ).update(status=OutboundEmail.Status.SENDING, attempts=F("attempts") + 1)
    if not claimed:
        return False
    outbound = OutboundEmail.objects.get(pk=outbound_id)
    headers = {"Message-ID": outbound.message_id}
    if outbound.in_reply_to:
        headers["In-Reply-To"] = outbound.in_reply_to
    if outbound.references:
        headers["References"] = outbound.references
    if outbound.kind == OutboundEmail.Kind.RECEIPT:
        # RFC 3834: an automatic answer; and ask Exchange not to answer it with an out-of-office.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    email = EmailMessage(subject=outbound.subject, body=outbound.body, from_email=outbound.from_address,
                         to=[outbound.to_address], headers=headers)
    try:
        email.send(fail_silently=False)
    except Exception as error:
        OutboundEmail.objects.filter(pk=outbound_id).update(
            status=OutboundEmail.Status.FAILED, last_error=f"{type(error).__name__}: {error}"[:2000])
        raise
    OutboundEmail.objects.filter(pk=outbound_id).update(status=OutboundEmail.Status.SENT, sent_at=timezone.now(),
                                                        last_error="")
    return True


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
