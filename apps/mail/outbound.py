"""Mail the desk sends about a ticket (receipts, agents' replies): delivered from the outbox.

``OutboundEmail`` is the mail itself (threading headers, the rate limit's counts, what the
console shows); its outbox row is when it goes and how often it was tried. The deliverer
sends a batch over one SMTP connection and keeps the mail's status in step: sent, or
failed once the outbox gives up.
"""

from django.core.mail import EmailMessage
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.mail import tokens
from apps.mail.models import OutboundEmail
from apps.outbox import registry
from apps.outbox.email import send_each
from apps.outbox.services import send_many_later
from supportdesk.text import one_line

KIND = "mail.outbound"


def send_outbound_later(outbound_ids: list[int]) -> None:
    """Deliver these mails after the commit (one job for a batch); each is an outbox row keyed by its id."""
    send_many_later(kind=KIND, items=[(str(pk), {"outbound": pk}) for pk in outbound_ids])


def deliver_outbound_items(items) -> list[registry.Outcome]:
    outbounds = OutboundEmail.objects.select_related("ticket_message", "ticket").exclude(
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
    email = EmailMessage(subject=one_line(outbound.subject), body=outbound.body, from_email=outbound.from_address,
                         to=[outbound.to_address], reply_to=reply_to, headers=headers)
    for attachment in outbound.ticket_message.attachments.order_by("pk"):   # the agent's files
        with attachment.file.open("rb") as handle:
            email.attach(attachment.filename, handle.read(), attachment.content_type)
    return email


def describe_outbound_items(items) -> list[str]:
    outbounds = OutboundEmail.objects.select_related("ticket").in_bulk([item.payload["outbound"] for item in items])
    described = []
    for item in items:
        outbound = outbounds.get(item.payload["outbound"])
        described.append(_("Mail to %(to)s: %(subject)s") % {"to": outbound.to_address, "subject": outbound.subject}
                         if outbound else _("A mail that no longer exists"))
    return described
