"""Mail arriving: check its size, store its raw bytes, and ask for it to be filed.

Every live path (the SMTP listener, the IMAP poller, the inbound webhook) stores the
message here and acknowledges it only once the row is committed; filing happens
apart from that (``apps.mail.filing``), in batches of whatever is pending.
"""

import hashlib
from collections.abc import Iterable

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.mail.models import InboundEmail
from supportdesk.jobs import enqueue_on_commit


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


def queue_processing(*, inbound: InboundEmail) -> None:
    """Process a stored message in the mail worker once its row is committed."""
    enqueue_on_commit("mail", "apps.mail.jobs.process_inbound_job", inbound.pk)
