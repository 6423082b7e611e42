"""Twilio's webhooks: the IVR, the queue, voicemail and status callbacks (paths in DESIGN.md).

Every request is checked against ``X-Twilio-Signature`` over the public URL Twilio called
(``PUBLIC_BASE_URL`` + the path and query it asked for), so the check holds behind a TLS
proxy; a bad or missing signature gets 403 and changes nothing. Each step records the call
before it answers, in one transaction, and a failure inside still answers safe TwiML (an
apology and voicemail), never an error page to a caller.
"""

import logging
from functools import wraps

from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpResponse, HttpResponseForbidden, HttpResponseNotAllowed
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from twilio.request_validator import RequestValidator

from apps.desk import actions
from apps.policy.languages import Channel
from apps.policy.services import PolicyError, availability, mailbox_for, region_for
from apps.voice import calls, twiml
from apps.voice.models import Call
from supportdesk.readonce import read_once

log = logging.getLogger(__name__)
State = Call.State
DIGITS = {"1": "en", "2": "sv"}
SPOKEN = {"en": ("english", "engelska", "one"), "sv": ("swedish", "svenska", "swedish", "two", "svensk")}
QUEUE_ANSWERED = ("bridged", "bridging-in-process", "redirected", "redirected-from-bridged")
QUEUE_FAILED = ("queue-full", "error", "system-error")


def public_url(request) -> str:
    return settings.PUBLIC_BASE_URL + request.get_full_path()


def signed_by_twilio(request) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(signature) and RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(
        public_url(request), request.POST, signature)


def twilio_webhook(step):
    """A Twilio-signed POST answered with TwiML; ``step(request, now)`` runs in one transaction."""
    @csrf_exempt
    @wraps(step)
    def view(request):
        if not settings.TWILIO_ENABLED:
            raise Http404("the phone line is off")
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not signed_by_twilio(request):
            log.warning("refused an unsigned or wrongly signed request to %s", request.path)
            return HttpResponseForbidden("bad signature")
        try:
            # One transaction; the policy's rows (region, hours, queues) read once per step.
            with transaction.atomic(), read_once():
                document = step(request, timezone.now())
        except Exception:     # a caller hears an apology and can leave a message, whatever broke
            log.exception("voice webhook %s failed for call %s", request.path, request.POST.get("CallSid"))
            document = twiml.apology()
        return HttpResponse(str(document), content_type="text/xml")
    return view


def _language(call: Call) -> str:
    return call.language if call.language in DIGITS.values() else "en"


def _choice(params) -> str | None:
    """1 or 2, or the language named in speech; anything else is no choice."""
    digits = (params.get("Digits") or "").strip()
    if digits:
        return DIGITS.get(digits)
    speech = (params.get("SpeechResult") or "").lower()
    named = [language for language, words in SPOKEN.items() if any(word in speech for word in words)]
    return named[0] if len(named) == 1 else None


@twilio_webhook
def incoming(request, now):
    """A call arrives: closed hours say when we open and offer voicemail; otherwise the language menu."""
    call = calls.call_for(request.POST)
    if call is None:
        return twiml.apology()
    region = call.region or region_for(language="en")
    if region is not None:
        try:
            open_now = availability(channel=Channel.VOICE, language="en", region=region, at=now)
        except PolicyError:
            log.exception("no phone hours for region %s: answering as open", region)
        else:
            if not open_now.open:
                return twiml.closed(next_opening=open_now.next_opening, zone=region.tz_name,
                                    mailbox=mailbox_for(region_id=region.pk, language="en"))
    return twiml.language_menu()


@twilio_webhook
def choose_language(request, now):
    """The menu's answer: a language into its queue (or voicemail when nobody can answer); a miss asks again."""
    call = calls.call_for(request.POST)
    if call is None:
        return twiml.apology()
    if call.state != State.MENU:        # a repeated request: the call already moved on
        return twiml.enqueue(language=_language(call)) if call.state == State.QUEUED else twiml.empty()
    language = _choice(request.POST)
    if language is None:
        call.menu_misses += 1
        if call.menu_misses < 2:
            call.save(update_fields=["menu_misses", "updated_at"])
            return twiml.language_menu(again=True)
        language = "en"         # two misses: English
    call.language = language
    if calls.nobody_can_answer(language):
        calls.to_async(call, state=State.VOICEMAIL, now=now)
        return twiml.voicemail(language=language, nobody=True)
    calls.enqueue(call, now=now)
    return twiml.enqueue(language=language)


@twilio_webhook
def wait(request, now):
    """Requested again and again while the caller waits: place, expected wait, and at the target the choice.

    The hottest webhook of the line, so it reads the call without a lock and writes only a choice.
    """
    call = calls.peek(request.POST) or calls.call_for(request.POST)
    if call is None or call.state != State.QUEUED:
        return twiml.waiting(language=_language(call) if call else "en", position=None, expected_seconds=None)
    language = _language(call)
    digits = (request.POST.get("Digits") or "").strip()
    if digits in ("1", "2"):
        calls.leave_queue_for(call, "voicemail" if digits == "1" else "callback", now=now)
        return twiml.leave_queue()
    if calls.nobody_can_answer(language, recent=True):
        calls.leave_queue_for(call, "voicemail", now=now)
        return twiml.leave_queue()
    waited = calls.integer(request.POST.get("QueueTime")) or 0
    if waited >= settings.VOICE_OFFER_VOICEMAIL_SECONDS:
        return twiml.waiting_long(language=language)
    return twiml.waiting(language=language, position=calls.integer(request.POST.get("QueuePosition")),
                         expected_seconds=calls.integer(request.POST.get("AvgQueueTime")))


@twilio_webhook
def queue_result(request, now):
    """The caller left the queue: to an agent, by hanging up (abandoned), or for voicemail or a callback."""
    call = calls.call_for(request.POST)
    if call is None:
        return twiml.empty()
    result = (request.POST.get("QueueResult") or "").strip()
    waited = calls.integer(request.POST.get("QueueTime"))
    language = _language(call)
    if call.queue_seconds is None and waited is not None:
        call.queue_seconds = waited
    if result in QUEUE_ANSWERED:
        calls.answered(call, queue_seconds=waited, now=now)
        return twiml.empty()
    if result == "hangup":
        calls.to_async(call, state=State.ABANDONED, now=now)
        return twiml.empty()
    if result == "leave" and call.leaving_for == "callback":
        calls.to_async(call, state=State.CALLBACK, now=now)
        return twiml.callback_promised(language=language, number=call.from_number)
    if result == "leave" or result in QUEUE_FAILED or call.state == State.QUEUED:
        calls.to_async(call, state=State.VOICEMAIL, now=now)
        return twiml.voicemail(language=language)
    return twiml.empty()


@twilio_webhook
def voicemail(request, now):
    """Starts a voicemail (from closed hours or the queue), or receives the recording (``RecordingUrl``)."""
    call = calls.call_for(request.POST)
    if call is None:
        return twiml.apology()
    if request.POST.get("RecordingUrl"):
        calls.store_recording(call, request.POST, now=now)
        return twiml.thanks_for_message(language=_language(call))
    chosen = DIGITS.get((request.POST.get("Digits") or "").strip())
    if chosen and call.state == State.MENU:
        call.language = chosen
    language = _language(call)
    if call.state in (State.MENU, State.QUEUED):
        call.language = language
        calls.to_async(call, state=State.VOICEMAIL, now=now)
    return twiml.voicemail(language=language)


@twilio_webhook
def transcription(request, now):
    call = calls.call_for(request.POST)
    if call is not None:
        calls.store_transcription(call, request.POST, now=now)
    return twiml.empty()


@twilio_webhook
def dial_result(request, now):
    """The agent's leg ended. Completed: goodbye. Not answered (busy, no answer): the caller leaves a voicemail."""
    call = calls.call_for(request.POST)
    if call is None:
        return twiml.empty()
    status = (request.POST.get("DialCallStatus") or "").strip()
    if status in ("completed", "answered"):
        response = twiml.empty()
        response.hangup()
        return response
    if call.ticket_id:
        actions.record_call(ticket=call.ticket, at=now, data={"event": "agent_missed", "status": status})
    calls.to_async(call, state=State.VOICEMAIL, now=now)
    return twiml.voicemail(language=_language(call), nobody=True)


@twilio_webhook
def status(request, now):
    call = calls.call_for(request.POST)
    if call is not None:
        calls.record_status(call, request.POST, now=now)
    return twiml.empty()
