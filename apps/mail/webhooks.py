"""``POST /email/inbound``: raw MIME from a mail provider's webhook (edge: verify, store, queue, answer).

The provider sends the shared secret ``MAIL_INBOUND_SECRET`` in ``X-Mail-Secret``
(or as ``Authorization: Bearer …``). The answer comes only once the raw bytes are
committed: 202 while the mail worker has still to file it with whatever else is
pending, 200 with the outcome when it is filed already (embedded, jobs run in
process); 503 when the database cannot take it, so the provider retries.
"""

import hmac
import logging

from django.conf import settings
from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.mail import intake, selectors
from apps.mail.models import InboundEmail

log = logging.getLogger(__name__)


def _secret_from(request: HttpRequest) -> str:
    header = request.headers.get("X-Mail-Secret", "")
    if header:
        return header
    authorization = request.headers.get("Authorization", "")
    return authorization[7:].strip() if authorization[:7].lower() == "bearer " else ""


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"detail": message}, status=status)


@csrf_exempt
@require_POST
def inbound_email(request: HttpRequest) -> JsonResponse:
    if not settings.MAIL_INBOUND_SECRET:
        return _error(404, _("The inbound mail webhook is not enabled."))
    if not hmac.compare_digest(_secret_from(request).encode(), settings.MAIL_INBOUND_SECRET.encode()):
        return _error(403, _("Wrong or missing shared secret."))
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > settings.MAIL_MAX_BYTES:
        return _error(413, _("The message is larger than %(limit)d bytes.") % {"limit": settings.MAIL_MAX_BYTES})
    # Read the stream directly: request.body would refuse anything over DATA_UPLOAD_MAX_MEMORY_SIZE.
    raw = request.read(settings.MAIL_MAX_BYTES + 1)
    if not raw:
        return _error(400, _("The body must be the raw message (message/rfc822)."))
    try:
        inbound = intake.receive_email(raw=raw, source=InboundEmail.Source.HTTP)
    except intake.MessageTooLarge as error:
        return _error(413, str(error))
    except DatabaseError:
        log.exception("inbound webhook could not store a message")
        return _error(503, _("The message could not be stored; please retry."))
    try:
        intake.queue_filing()
        filed = selectors.filed_inbound(inbound_id=inbound.pk)
    except DatabaseError:
        # Stored is what the provider needs to hear; the pending sweep files it later.
        log.exception("inbound mail %s stored; its filing could not be queued", inbound.pk)
        filed = None
    if filed is None:  # the mail worker files it with whatever else is pending
        return JsonResponse({"id": inbound.pk, "outcome": InboundEmail.Outcome.PENDING, "ticket": None}, status=202)
    return JsonResponse({"id": filed.pk, "outcome": filed.outcome,
                         "ticket": filed.ticket.reference if filed.ticket else None})
