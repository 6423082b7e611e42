"""Mail arriving: check its size, store its raw bytes, and ask for it to be filed.

Every live path (the SMTP listener, the IMAP poller, the inbound webhook) stores the
message here and acknowledges it only once the row is committed; filing happens
apart from that (``apps.mail.filing``), in batches of whatever is pending.
"""

import hashlib
import logging
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.mail.models import InboundEmail
from supportdesk.jobs import burst_started, enqueue_burst

log = logging.getLogger(__name__)
# Set while a filing job waits in the queue: mail arriving meanwhile needs no job of its own.
FILING_QUEUED = "mail:filing-queued"
FILING_QUEUED_SECONDS = 30


class MessageTooLarge(ValueError):
    """Over ``MAIL_MAX_BYTES``: the sender is told so (SMTP 552, HTTP 413) and nothing is stored."""


def receive_email(*, raw: bytes, source: str, source_key: str = "", envelope_from: str = "",
                  envelope_to: list[str] | tuple[str, ...] = ()) -> InboundEmail:
    """Store a message's raw bytes durably (committed on return); a repeated source key returns the first.

    Raises ``MessageTooLarge`` over the limit and lets database errors through, so
    the SMTP listener can answer 4xx and the sender retries.
    """
    check_size(raw)
    fields = raw_fields(raw, envelope_from=envelope_from, envelope_to=envelope_to)
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


def too_large(raw: bytes) -> MessageTooLarge | None:
    """The error to give for a message over ``MAIL_MAX_BYTES``; None when it fits."""
    if len(raw) <= settings.MAIL_MAX_BYTES:
        return None
    return MessageTooLarge(_("The message is %(size)d bytes; the limit is %(limit)d bytes.")
                           % {"size": len(raw), "limit": settings.MAIL_MAX_BYTES})


def check_size(raw: bytes) -> None:
    error = too_large(raw)
    if error is not None:
        raise error


def raw_fields(raw: bytes, *, envelope_from: str = "", envelope_to: Iterable[str] = ()) -> dict:
    """The columns of a stored message that come from its bytes and envelope."""
    return {"raw": raw, "size": len(raw), "sha256": hashlib.sha256(raw).hexdigest(),
            "envelope_from": envelope_from[:998], "envelope_to": [str(a)[:254] for a in envelope_to][:100],
            "received_at": timezone.now()}


def queue_filing() -> None:
    """Have the mail worker file whatever is pending, once the caller's rows are committed.

    One job per burst, not per message: the job clears the mark as it starts, before it
    claims rows, so a message stored after the claim queues the next job. A lost job
    only delays its mail until the mark expires or the schedule's sweep files it.
    """
    transaction.on_commit(lambda: enqueue_burst(FILING_QUEUED, "mail", "apps.mail.jobs.file_pending_job",
                                                mark_seconds=FILING_QUEUED_SECONDS))


def filing_started() -> None:
    """The filing job is running: mail stored from now on queues another one."""
    burst_started(FILING_QUEUED)


def receive_emails(items: list[tuple[bytes, str, list[str]]], *, source: str) -> list[InboundEmail]:
    """Store several messages (raw, envelope sender, envelope recipients) in one statement.

    The SMTP listener's group commit: the caller's transaction commits them together, so
    one commit carries what several senders sent at once. Sizes are the caller's check.
    """
    return InboundEmail.objects.bulk_create(
        [InboundEmail(source=source, **raw_fields(raw, envelope_from=sender, envelope_to=recipients))
         for raw, sender, recipients in items])


def backlog_limit() -> int:
    """SMTP flow control: hold a "250" while more than this many stored messages wait to be filed; 0 is off.

    Senders then go at the pace mail is filed, and a burst waits in their queues (which
    retry and keep it) rather than in ours. Two batches keep the filer busy; a fixed age
    would stall it while it files a batch. Embedded, filing runs in the storing thread,
    so nothing builds up and nothing is held.
    """
    return settings.MAIL_BACKLOG_LIMIT if settings.REDIS_URL else 0

