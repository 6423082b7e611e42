"""Twilio's webhooks: the IVR, the queue, voicemail and status callbacks (paths in DESIGN.md).

Every request is checked against ``X-Twilio-Signature`` over the public URL Twilio called
(``PUBLIC_BASE_URL`` + the path and query it asked for), so the check holds behind a TLS
proxy; a bad or missing signature gets 403 and changes nothing. Each webhook stores what
arrived before it answers: all but one as a ``CallStep`` that the voice worker applies
(``apps.voice.steps``); the agent's leg ending (``dial-result``) on the call's rows in one
transaction, as its answer depends on the call's state. A failure inside still answers safe TwiML (an
apology and voicemail), never an error page to a caller.

Served by the ASGI route in front of Django's middleware (``apps.voice.asgi``, what daphne
runs) and by the Django views below (the same code through ``WEBHOOKS``; URLs, tests' client).
"""

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
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
from apps.voice import calls, steps, twiml
from apps.voice.models import Call
from supportdesk.readonce import read_once

log = logging.getLogger(__name__)
State = Call.State
DIGITS = {"1": "en", "2": "sv"}
TWIML = "text/xml"
SPOKEN = {"en": ("english", "engelska", "one"), "sv": ("swedish", "svenska", "swedish", "two", "svensk")}


@dataclass(frozen=True)
class Hook:
    """What Twilio sent: its form, the URL's query, the path and query it called, and its signature.

    Built from a Django request (``from_request``) or by the ASGI route in front of Django
    (``apps.voice.asgi``); the webhooks read nothing else.
    """

    form: Mapping[str, str]
    query: Mapping[str, str]
    full_path: str
    signature: str

    @classmethod
    def from_request(cls, request) -> "Hook":
        return cls(form=request.POST, query=request.GET, full_path=request.get_full_path(),
                   signature=request.headers.get("X-Twilio-Signature", ""))

    @property
    def public_url(self) -> str:
        return settings.PUBLIC_BASE_URL + self.full_path

    @property
    def signed_by_twilio(self) -> bool:
        return bool(self.signature) and RequestValidator(settings.TWILIO_AUTH_TOKEN).validate(
            self.public_url, self.form, self.signature)


# name -> respond(hook) -> TwiML text, for every webhook (the ASGI route answers them by name).
WEBHOOKS: dict[str, Callable[[Hook], str]] = {}


def twilio_webhook(name: str, *, stored: bool = False):
    """A Twilio-signed POST answered with TwiML; a failure inside answers an apology and voicemail.

    ``step(hook, call, now)`` runs in one transaction with the call locked, after the call's
    stored steps are applied (``steps.catch_up``). ``stored=True``: ``step(hook, now)`` decides
    from the request and the remembered configuration alone, stores what it decided
    (``steps.store``) and answers; the worker applies it. The configuration (regions, hours,
    entry points, queues) is remembered across requests until a row of it changes.
    """
    def decorate(step):
        def respond(hook: Hook) -> str:
            try:
                with read_once(across_requests=True):
                    if stored:
                        document = step(hook, timezone.now())
                    else:
                        with transaction.atomic():
                            document = _with_call(step, hook)
            except Exception:     # a caller hears an apology and can leave a message, whatever broke
                log.exception("voice webhook %s failed for call %s", name, hook.form.get("CallSid"))
                document = twiml.apology()
            return str(document)

        WEBHOOKS[name] = respond

        @csrf_exempt
        @wraps(step)
        def view(request):
            if not settings.TWILIO_ENABLED:
                raise Http404("the phone line is off")
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            hook = Hook.from_request(request)
            if not hook.signed_by_twilio:
                log.warning("refused an unsigned or wrongly signed request to %s", request.path)
                return HttpResponseForbidden("bad signature")
            return HttpResponse(respond(hook), content_type=TWIML)
        return view
    return decorate


def _with_call(step, hook: Hook):
    call = calls.call_for(hook.form)
    if call is None:
        return step(hook, None, timezone.now())
    steps.catch_up(call)
    return step(hook, call, timezone.now())


def _language(call: Call | None) -> str:
    return call.language if call is not None and call.language in DIGITS.values() else "en"


def _choice(params) -> str | None:
    """1 or 2, or the language named in speech; anything else is no choice."""
    digits = (params.get("Digits") or "").strip()
    if digits:
        return DIGITS.get(digits)
    speech = (params.get("SpeechResult") or "").lower()
    named = [language for language, words in SPOKEN.items() if any(word in speech for word in words)]
    return named[0] if len(named) == 1 else None


def _has_sid(hook: Hook) -> bool:
    return bool(calls.sid_of(hook.form))


@twilio_webhook("incoming", stored=True)
def incoming(hook: Hook, now):
    """A call arrives: closed hours say when we open and offer voicemail; otherwise the language menu."""
    if not _has_sid(hook):
        return twiml.apology()
    steps.store(step="incoming", params=hook.form, now=now)
    to_number = (hook.form.get("To") or "").strip()[:32]
    region = (region_for(entry_point=to_number) if to_number else None) or region_for(language="en")
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


@twilio_webhook("language", stored=True)
def choose_language(hook: Hook, now):
    """The menu's answer: a language into its queue (or voicemail when nobody can answer); a miss asks again.

    The misses so far travel in the URL (``?misses=1``), so the answer needs no stored state.
    """
    if not _has_sid(hook):
        return twiml.apology()
    language = _choice(hook.form)
    if language is None:
        misses = (calls.integer(hook.query.get("misses")) or 0) + 1
        if misses < 2:
            steps.store(step="language", decision="again", params=hook.form, now=now)
            return twiml.language_menu(misses=misses)
        language = "en"         # two misses: English
    if calls.nobody_can_answer(language, recent=True):
        steps.store(step="language", decision="voicemail", params=hook.form, now=now, language=language)
        return twiml.voicemail(language=language, nobody=True)
    steps.store(step="language", decision="queued", params=hook.form, now=now, language=language)
    return twiml.enqueue(language=language)


@twilio_webhook("wait", stored=True)
def wait(hook: Hook, now):
    """Requested again and again while the caller waits: place, expected wait, and at the target the choice.

    The hottest webhook of the line: Twilio sends the place and the time waited, so a round of
    hold music reads and writes nothing; only a caller leaving the queue is stored.
    """
    language = hook.query.get("language") if hook.query.get("language") in DIGITS.values() else "en"
    if not _has_sid(hook):       # no call to speak of: hold music, nothing decided
        return twiml.waiting(language=language, position=None, expected_seconds=None)
    digits = (hook.form.get("Digits") or "").strip()
    leaving = {"1": "voicemail", "2": "callback"}.get(digits)
    if leaving is None and calls.nobody_can_answer(language, recent=True):
        leaving = "voicemail"
    if leaving is not None:
        steps.store(step="leave", decision=leaving, params=hook.form, now=now)
        return twiml.leave_queue()
    waited = calls.integer(hook.form.get("QueueTime")) or 0
    if waited >= settings.VOICE_OFFER_VOICEMAIL_SECONDS:
        return twiml.waiting_long(language=language)
    return twiml.waiting(language=language, position=calls.integer(hook.form.get("QueuePosition")),
                         expected_seconds=calls.integer(hook.form.get("AvgQueueTime")))


def _answer_language(hook: Hook) -> str:
    """The caller's language for an answer: the URL's (the desk's own TwiML puts it there), else the call's."""
    language = hook.query.get("language")
    if language in DIGITS.values():
        return language
    return calls.language_of(calls.sid_of(hook.form)) or "en"


@twilio_webhook("queue-result", stored=True)
def queue_result(hook: Hook, now):
    """The caller left the queue: to an agent, by hanging up (abandoned), or for voicemail or a callback.

    The answer needs only the request and where the caller asked to go (their stored ``leave``
    step); the worker applies the result to the call.
    """
    if not _has_sid(hook):
        return twiml.empty()
    result = (hook.form.get("QueueResult") or "").strip()
    steps.store(step="queue-result", decision=result[:16], params=hook.form, now=now)
    if result == "leave":
        if steps.leaving_for(calls.sid_of(hook.form)) == "callback":
            return twiml.callback_promised(language=_answer_language(hook),
                                           number=(hook.form.get("From") or "").strip()[:32])
        return twiml.voicemail(language=_answer_language(hook))
    if result in calls.QUEUE_FAILED:
        return twiml.voicemail(language=_answer_language(hook))
    return twiml.empty()


@twilio_webhook("voicemail", stored=True)
def voicemail(hook: Hook, now):
    """Starts a voicemail (from closed hours or the queue), or receives the recording (``RecordingUrl``)."""
    if not _has_sid(hook):
        return twiml.apology()
    if hook.form.get("RecordingUrl"):
        steps.store(step="voicemail", decision="recording", params=hook.form, now=now)
        return twiml.thanks_for_message(language=_answer_language(hook))
    language = DIGITS.get((hook.form.get("Digits") or "").strip())
    steps.store(step="voicemail", decision="start", params=hook.form, now=now, chosen_language=language or "")
    return twiml.voicemail(language=language or _answer_language(hook))


@twilio_webhook("transcription", stored=True)
def transcription(hook: Hook, now):
    if _has_sid(hook):
        steps.store(step="transcription", params=hook.form, now=now)
    return twiml.empty()


@twilio_webhook("dial-result")
def dial_result(hook: Hook, call, now):
    """The agent's leg ended. Completed: goodbye. Not answered (busy, no answer): the caller leaves a voicemail."""
    if call is None:
        return twiml.empty()
    status = (hook.form.get("DialCallStatus") or "").strip()
    if status in ("completed", "answered"):
        response = twiml.empty()
        response.hangup()
        return response
    if call.ticket_id:
        actions.record_call(ticket=call.ticket, at=now, data={"event": "agent_missed", "status": status})
    calls.to_async(call, state=State.VOICEMAIL, now=now)
    return twiml.voicemail(language=_language(call), nobody=True)


@twilio_webhook("status", stored=True)
def status(hook: Hook, now):
    """A status callback: stored, applied by the worker in the call's order (the duration, an abandoned call)."""
    if _has_sid(hook):
        steps.store(step="status", params=hook.form, now=now)
    return twiml.empty()
