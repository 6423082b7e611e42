"""Connecting a queued caller to the agent who accepted: a Twilio REST call, through the outbox.

When an agent takes a waiting call's ticket (an offer accepted), the same transaction writes an
outbox row: update the live call to TwiML that dials the agent's softphone or phone. The outbox
delivers it with the real ``twilio`` client and retries what a retry can fix, for as long as a
caller may still be waiting (``VOICE_BRIDGE_MAX_AGE_SECONDS``).
"""

import logging
import threading

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from apps.outbox import registry
from apps.outbox import services as outbox
from apps.policy.languages import Channel
from apps.voice import calls, twiml
from apps.voice.models import Call

log = logging.getLogger(__name__)
KIND = "twilio.call"
GONE = (404, 21220)        # no such call / the call is not in progress: the caller hung up, nothing to bridge
_local = threading.local()


def client_identity(user) -> str:
    """The agent's Twilio Client identity (their browser softphone), the same in the token and the dial."""
    return f"agent-{user.pk}"


def twilio_client() -> Client:
    """One client per thread, with an explicit timeout; ``TWILIO_API_BASE_URL`` points it at a stand-in."""
    key = (settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_API_BASE_URL)
    if getattr(_local, "key", None) != key:
        http = TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT_SECONDS,
                                request_hooks={"response": _remember_retry_after})
        client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http)
        if settings.TWILIO_API_BASE_URL:
            client.api.base_url = settings.TWILIO_API_BASE_URL.rstrip("/")
        _local.key, _local.client = key, client
    return _local.client


def on_ticket_taken(*, ticket, user, live: bool = True, **_signal) -> None:
    """Subscriber of ``apps.desk.signals.ticket_taken``: a waiting call goes to the agent who took it."""
    if ticket.channel != Channel.VOICE or not live:     # routing's async work: a voicemail, nobody waiting
        return
    call = calls.bridge_to(ticket=ticket, user=user)
    if call is None:
        return
    phone_number = getattr(getattr(user, "agent_profile", None), "phone_number", "")
    document = twiml.bridge(language=call.language or "en", client_identity=client_identity(user),
                            phone_number=phone_number)
    outbox.send_later(kind=KIND, key=f"bridge:{call.sid}:{user.pk}",
                      payload={"call_sid": call.sid, "twiml": str(document), "agent": user.pk})


def deliver_calls(items) -> list[registry.Outcome]:
    """Update each live call to its new TwiML; the outcome of each row, in order."""
    return [_deliver(item) for item in items]


def _deliver(item) -> registry.Outcome:
    sid = item.payload["call_sid"]
    try:
        twilio_client().calls(sid).update(twiml=item.payload["twiml"])
    except TwilioRestException as error:
        if error.status in GONE or error.code in GONE:
            log.info("call %s ended before it could be bridged", sid)
            return registry.Sent()
        if error.status in (429,) or error.status >= 500:
            return registry.Retry(f"Twilio {error.status}: {error.msg}"[:500], after=_retry_after(error))
        return registry.Dead(f"Twilio {error.status} ({error.code}): {error.msg}"[:500])
    except (requests.RequestException, TwilioException) as error:
        return registry.Retry(f"Twilio unreachable: {error}"[:500])
    _bridged(sid)
    return registry.Sent()


def _remember_retry_after(response, *args, **kwargs):
    """A ``requests`` response hook: the exception the client raises carries no headers."""
    _local.retry_after = response.headers.get("Retry-After")
    return response


def _retry_after(error: TwilioRestException) -> float | None:
    try:
        return float(getattr(_local, "retry_after", None))
    except (TypeError, ValueError):
        return None


@transaction.atomic
def _bridged(sid: str) -> None:
    """Twilio took the new TwiML: the caller left the queue now (the queue's own report may add QueueTime)."""
    call = Call.objects.select_for_update().filter(sid=sid).first()
    if call is not None:
        calls.answered(call, queue_seconds=None, now=timezone.now())


def describe_calls(items) -> list[str]:
    return [f"bridge call {item.payload.get('call_sid')} to agent #{item.payload.get('agent')}" for item in items]


def retry_base_seconds() -> float:
    return 1.0


def max_age_seconds() -> float:
    return float(settings.VOICE_BRIDGE_MAX_AGE_SECONDS)
