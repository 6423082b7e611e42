"""Mail the desk sends about a ticket (receipts, agents' replies): delivered from the outbox.

``OutboundEmail`` is the mail itself (threading headers, the rate limit's counts, what the
console shows); its outbox row is when it goes and how often it was tried. The deliverer
sends a batch over one SMTP connection and keeps the mail's status in step: sent, or
failed once the outbox gives up.
"""

import re
from dataclasses import dataclass, field
from email.utils import formataddr, make_msgid

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.accounts.names import display_name, signature
from apps.desk.actions import add_messages
from apps.mail import selectors, tokens
from apps.mail.loops import is_robot_address
from apps.mail.models import MailReference, OutboundEmail
from apps.mail.subjects import tagged
from apps.outbox import registry
from apps.outbox.email import send_each
from apps.outbox.services import send_many_later
from apps.policy.languages import Channel
from apps.tickets.models import Message, ReceiptTemplate, Ticket, TicketEvent
from apps.tickets.services import NewMessage, TicketError, log_events, new_event
from supportdesk.readonce import once
from supportdesk.text import one_line

KIND = "mail.outbound"
MAX_REFERENCES = 20


@dataclass
class Receipt:
    """An automatic receipt to send for a new ticket; ``desk_mailbox`` is its thread's desk address if known."""

    ticket: Ticket
    to: str
    in_reply_to: str = ""
    references: list[str] = field(default_factory=list)
    desk_mailbox: str | None = None


def send_receipts(receipts: list[Receipt], *, mailboxes: dict | None = None,
                  sent_last_hour: dict[str, int] | None = None) -> list[OutboundEmail | None]:
    """Write receipts (one insert per table for all); None for each that must not be sent.

    Never to a robot or to the desk itself, and at most
    ``MAIL_RECEIPTS_PER_SENDER_PER_HOUR`` per address: a suppressed one is noted on its ticket.
    ``sent_last_hour`` (upper-cased address -> receipts; read from the database when
    not given) is counted up as receipts are written. The caller records their
    Message-IDs and queues their delivery (``send_outbound_later``).
    """
    now = timezone.now()
    if sent_last_hour is None:
        sent_last_hour = selectors.receipts_sent_last_hour({receipt.to.upper() for receipt in receipts}, now=now)
    results: list[OutboundEmail | None] = [None] * len(receipts)
    sending, suppressed = [], []
    for index, receipt in enumerate(receipts):
        to = receipt.to
        if not to or is_robot_address(to) or selectors.is_desk_address(to, mailboxes=mailboxes):
            continue
        if sent_last_hour.get(to.upper(), 0) >= settings.MAIL_RECEIPTS_PER_SENDER_PER_HOUR:
            suppressed.append(new_event(ticket=receipt.ticket, kind=TicketEvent.Kind.MESSAGE, data={
                "event": "receipt_suppressed", "reason": "rate_limit", "to": to}))
            continue
        sent_last_hour[to.upper()] = sent_last_hour.get(to.upper(), 0) + 1
        sending.append((index, receipt, *receipt_text(receipt.ticket), new_message_id(receipt.ticket)))
    log_events(suppressed)
    messages = add_messages([
        NewMessage(ticket=receipt.ticket, direction=Message.Direction.OUTBOUND, body=body, automatic=True,
                   external_id=message_id, channel=Channel.EMAIL)
        for _index, receipt, _subject, body, message_id in sending])
    outbounds = [
        OutboundEmail(
            ticket=receipt.ticket, ticket_message=message, kind=OutboundEmail.Kind.RECEIPT,
            from_address=(receipt.desk_mailbox or settings.DEFAULT_FROM_EMAIL) if receipt.desk_mailbox is not None
            else selectors.desk_address(receipt.ticket),
            to_address=receipt.to, subject=subject, body=body, message_id=message_id,
            in_reply_to=receipt.in_reply_to, references=" ".join(receipt.references[-MAX_REFERENCES:]))
        for (_index, receipt, subject, body, message_id), message in zip(sending, messages, strict=True)]
    OutboundEmail.objects.bulk_create(outbounds)
    for (index, *_rest), outbound in zip(sending, outbounds, strict=True):
        results[index] = outbound
    return results


def receipt_text(ticket: Ticket) -> tuple[str, str]:
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


def new_message_id(ticket: Ticket) -> str:
    if ticket.reference:
        return tokens.message_id(ticket.reference)
    return make_msgid(idstring="sd", domain=settings.DEFAULT_FROM_EMAIL.rsplit("@", 1)[-1] or "supportdesk.invalid")


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
    to = selectors.user_address(ticket)
    if not to:
        raise TicketError(_("The ticket's contact has no email address."))
    ids = selectors.thread_message_ids(ticket)
    last_inbound = selectors.last_inbound_message_id(ticket)
    message_id = message.external_id if message.external_id.startswith("<") else new_message_id(ticket)
    with translation.override(ticket.language):
        subject = one_line(ticket.subject) or _("Your request")
        if not re.match(r"^\s*re\s*:", subject, re.I):
            subject = _("Re: %(subject)s") % {"subject": subject}
        footer = render_to_string("mail/reply_footer.txt", {"reference": ticket.reference})
    # The agent's signature closes their text; the desk's footer (the reference) follows the "-- " line.
    signed = "\n\n".join(part for part in (message.body_text.rstrip(), signature(message.author_user)) if part)
    body = f"{signed}\n\n-- \n{footer}"
    outbound = OutboundEmail.objects.create(
        ticket=ticket, ticket_message=message, kind=OutboundEmail.Kind.REPLY,
        from_address=selectors.desk_address(ticket), to_address=to, subject=tagged(subject, ticket.reference),
        body=body, message_id=message_id, in_reply_to=last_inbound or (ids[-1] if ids else ""),
        references=" ".join(ids[-MAX_REFERENCES:]))
    if not message.external_id:
        Message.objects.filter(pk=message.pk, external_id="").update(external_id=message_id)
    MailReference.objects.bulk_create([MailReference(message_id=message_id, ticket=ticket,
                                                     direction=MailReference.Direction.OUTBOUND)],
                                      ignore_conflicts=True)
    send_outbound_later([outbound.pk])
    return outbound


def send_outbound_later(outbound_ids: list[int]) -> None:
    """Deliver these mails after the commit (one job for a batch); each is an outbox row keyed by its id."""
    send_many_later(kind=KIND, items=[(str(pk), {"outbound": pk}) for pk in outbound_ids])


def deliver_outbound_items(items) -> list[registry.Outcome]:
    outbounds = OutboundEmail.objects.select_related(
        "ticket_message__author_user__agent_profile", "ticket").exclude(
        status=OutboundEmail.Status.SENT).in_bulk([item.payload["outbound"] for item in items])
    ready = [(index, outbounds[item.payload["outbound"]]) for index, item in enumerate(items)
             if item.payload["outbound"] in outbounds]
    outcomes: list[registry.Outcome] = [registry.Sent()] * len(items)    # gone or sent already: nothing to do
    OutboundEmail.objects.filter(pk__in=[outbound.pk for _index, outbound in ready]).update(
        status=OutboundEmail.Status.SENDING, attempts=F("attempts") + 1)
    for (index, outbound), outcome in zip(ready, send_each([email_of(outbound) for _index, outbound in ready]),
                                          strict=True):
        outcomes[index] = outcome
        _record(outbound.pk, outcome)
    return outcomes


def _record(outbound_id: int, outcome: registry.Outcome) -> None:
    mail = OutboundEmail.objects.filter(pk=outbound_id)
    if isinstance(outcome, registry.Sent):
        mail.update(status=OutboundEmail.Status.SENT, sent_at=timezone.now(), last_error="")
    else:
        # Retried by the outbox (queued again) or given up (failed); a dead letter can be retried by the manager.
        status = OutboundEmail.Status.FAILED if isinstance(outcome, registry.Dead) else OutboundEmail.Status.QUEUED
        mail.update(status=status, last_error=outcome.error[:2000])


def email_of(outbound: OutboundEmail) -> EmailMessage:
    headers = {"Message-ID": outbound.message_id}
    if outbound.in_reply_to:
        headers["In-Reply-To"] = outbound.in_reply_to
    if outbound.references:
        headers["References"] = outbound.references
    if outbound.kind == OutboundEmail.Kind.RECEIPT:
        # RFC 3834: an automatic answer; and ask Exchange not to answer it with an out-of-office.
        headers["Auto-Submitted"] = "auto-replied"
        headers["X-Auto-Response-Suppress"] = "All"
    # Answers come back to the desk mailbox with the ticket's token, which threads them whoever sends them.
    reply_to = [tokens.reply_address(outbound.from_address, outbound.ticket.reference)]
    # One line: a subject stored with a line break (a visitor's name, before names were cleaned) would make
    # Django refuse the header, and the ticket could never be answered by mail.
    email = EmailMessage(subject=one_line(outbound.subject), body=outbound.body, from_email=sender(outbound),
                         to=[outbound.to_address], reply_to=reply_to, headers=headers)
    for attachment in outbound.ticket_message.attachments.order_by("pk"):   # the agent's files
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)
    return email


def sender(outbound: OutboundEmail) -> str:
    """The From header: an agent's reply shows who wrote it ("Sara Berg, Support"), a receipt the desk."""
    author = outbound.ticket_message.author_user if outbound.kind == OutboundEmail.Kind.REPLY else None
    if author is None:
        return outbound.from_address
    with translation.override(outbound.ticket.language):
        name = _("%(name)s, Support") % {"name": display_name(author)}
    return formataddr((one_line(name), outbound.from_address))


def describe_outbound_items(items) -> list[str]:
    outbounds = OutboundEmail.objects.select_related("ticket").in_bulk([item.payload["outbound"] for item in items])
    described = []
    for item in items:
        outbound = outbounds.get(item.payload["outbound"])
        described.append(_("Mail to %(to)s: %(subject)s") % {"to": outbound.to_address, "subject": outbound.subject}
                         if outbound else _("A mail that no longer exists"))
    return described
