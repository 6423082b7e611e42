"""The steps of a call, as the desk records them: the call row first, the ticket through the actions.

Twilio repeats webhooks (retries, fallbacks) with the same CallSid, so every step is
idempotent: it finds the call row again and does nothing a second time. A call opens a
ticket when it enters the queue or starts a voicemail; a caller who hangs up in the menu
leaves a call row and no ticket.
"""

import contextlib
import time
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.names import display_name
from apps.desk import actions
from apps.policy.languages import Channel
from apps.policy.services import region_for
from apps.routing import services as routing
from apps.tickets import services as tickets
from apps.tickets.models import Message, Ticket
from apps.tickets.selectors import surviving
from apps.tickets.services import NewTicket
from apps.voice.models import Call
from supportdesk.bulkupdate import update_rows

State = Call.State
QUEUE_ANSWERED = ("bridged", "bridging-in-process", "redirected", "redirected-from-bridged")
QUEUE_FAILED = ("queue-full", "error", "system-error")
ENDED = ("completed", "busy", "failed", "no-answer", "canceled")
# The largest number a call's counters (seconds, sequence) hold; Twilio's are far below it.
LARGEST = 2_147_483_647


def in_progress(ticket: Ticket) -> bool:
    """The channel registry's ``in_progress``: a caller of this ticket is still on the line, waiting in the
    queue, being connected or talking to an agent, so the ticket is not merged away.

    An answered call keeps its state once it is over: Twilio's status callback says when it ended.
    """
    return (Call.objects.filter(ticket=ticket, state__in=(State.QUEUED, State.BRIDGING, State.BRIDGED))
            .exclude(twilio_status__in=ENDED).exists())


def sid_of(params) -> str:
    return (params.get("CallSid") or "").strip()[:64]


def call_for(params) -> Call | None:
    """The call row of a webhook (created at its first sight, whichever webhook that is); None without a CallSid."""
    sid = sid_of(params)
    return lock_calls([params]).get(sid) if sid else None


def lock_calls(params_list) -> dict[str, Call]:
    """The calls of these webhooks' parameters, locked, by CallSid (each made at its first sight).

    A concurrent first webhook of the same call may insert it too: ignored, then both lock the
    one row. Rows are locked in CallSid order, so two batches never wait on each other in a circle.
    """
    first: dict[str, object] = {}
    for params in params_list:
        if sid := sid_of(params):
            first.setdefault(sid, params)
    if not first:
        return {}
    rows = Call.objects.select_for_update(of=("self",)).select_related("region", "ticket").order_by("sid")
    locked = {call.sid: call for call in rows.filter(sid__in=first)}
    missing = [_new_call(sid, params) for sid, params in sorted(first.items()) if sid not in locked]
    if missing:
        Call.objects.bulk_create(missing, ignore_conflicts=True)
        locked.update((call.sid, call) for call in rows.filter(sid__in=[call.sid for call in missing]))
    return dict(sorted(locked.items()))


def _new_call(sid: str, params) -> Call:
    to_number = (params.get("To") or "").strip()[:32]
    return Call(sid=sid, from_number=(params.get("From") or "").strip()[:32], to_number=to_number,
                region=region_for(entry_point=to_number) if to_number else None)


_unwritten: ContextVar[dict[int, tuple[Call, set[str]]] | None] = ContextVar("unwritten_calls", default=None)


def save(call: Call, fields: list[str]) -> None:
    """Write these fields of the call: now, or inside ``written_together`` with the batch's other calls at its end."""
    call.updated_at = timezone.now()
    unwritten = _unwritten.get()
    if unwritten is None:
        call.save(update_fields=[*fields, "updated_at"])
    else:
        unwritten.setdefault(call.pk, (call, set()))[1].update(fields)


@contextlib.contextmanager
def written_together() -> Iterator[None]:
    """Inside, changed calls are written once, together, at the end: a worker's batch of steps.

    The batch holds its calls' rows locked, so what it keeps in memory is each row as it will
    be; a step rolled back restores its call (``remember``/``restore``). Nothing reads a call
    row inside the batch before the end, where routing asks which calls are still live.
    """
    unwritten: dict[int, tuple[Call, set[str]]] = {}
    token = _unwritten.set(unwritten)
    try:
        yield
    finally:
        _unwritten.reset(token)
    if unwritten:
        fields = set().union(*(changed for _call, changed in unwritten.values()))
        update_rows([call for call, _changed in unwritten.values()], sorted(fields | {"updated_at"}))


def remember(call: Call) -> dict:
    """The call's fields as they are, for ``restore`` if the step about to change it is rolled back."""
    return {field.attname: getattr(call, field.attname) for field in Call._meta.concrete_fields}


def restore(call: Call, remembered: dict) -> None:
    """The call as ``remember`` found it; related rows read again when next used (a rolled-back step's
    ticket may hold changes that were not kept)."""
    for name, value in remembered.items():
        setattr(call, name, value)
    for field in Call._meta.concrete_fields:
        if field.is_relation and field.is_cached(call):
            field.delete_cached_value(call)


def ensure_ticket(call: Call, *, now: datetime, waiting: bool) -> Ticket:
    """The call's ticket, opened once (``external_ref`` is the CallSid); ``waiting`` starts the answer clock now."""
    if call.ticket_id:
        return call.ticket
    contact = tickets.find_or_create_contact(phone=call.from_number, language=call.language or "en",
                                             region=call.region)
    call.ticket = actions.open_ticket(contact=contact, **_ticket_fields(call, now=now, waiting=waiting))
    save(call, ["ticket"])
    return call.ticket


def _ticket_fields(call: Call, *, now: datetime, waiting: bool) -> dict:
    caller = call.from_number or _("unknown number")
    return {"channel": Channel.VOICE, "external_ref": call.sid, "external_id": call.sid,
            "subject": _("Call from %(number)s") % {"number": caller}, "language": call.language or "en",
            "region": call.region, "received_at": call.created_at, "waiting_since": now if waiting else None,
            "body": _("Phone call from %(caller)s to %(number)s.") % {"caller": caller,
                                                                     "number": call.to_number or "?"}}


def enqueue(call: Call, *, now: datetime) -> Ticket:
    """The caller chose a language and somebody can answer: into the queue, offered like a chat."""
    enqueue_many([(call, call.language, now)])
    return call.ticket


def enqueue_many(entries: list[tuple[Call, str, datetime]]) -> None:
    """Callers in the menu who chose a language, ``(call, language, when)`` each: into their queues together.

    Their tickets are opened in one go (``actions.open_tickets``: clocks started, each offered to an agent).
    """
    entries = [(call, language, now) for call, language, now in entries if call.state == State.MENU]
    if not entries:
        return
    changed = timezone.now()
    for call, language, now in entries:
        call.state, call.queued_at, call.language, call.updated_at = State.QUEUED, now, language, changed
    update_rows([call for call, _language, _now in entries],
                ["state", "queued_at", "language", "menu_misses", "updated_at"])
    needing = [(call, now) for call, _language, now in entries if not call.ticket_id]
    if needing:
        contacts = tickets.contacts_for_phones([(call.from_number, call.language, call.region)
                                                for call, _now in needing])
        requests = [NewTicket(contact=contacts.get(call.from_number) or tickets.find_or_create_contact(
            language=call.language, region=call.region), **_ticket_fields(call, now=now, waiting=True))
                    for call, now in needing]
        for (call, _now), opened in zip(needing, actions.open_tickets(requests), strict=True):
            call.ticket = opened.ticket
        update_rows([call for call, _now in needing], ["ticket"])
    actions.record_calls([(call.ticket, {"event": "queued", "language": call.language}, now)
                          for call, _language, now in entries])


# How many agents can answer each language, remembered for a moment by the wait music, which asks on
# every round of every waiting call. A presence change in this process forgets it at once
# (``forget_who_is_online``); one made in another process is noticed within this many seconds.
ONLINE_MEMORY_SECONDS = 2.0
_online_memory: dict[str, tuple[float, int]] = {}


def nobody_can_answer(language: str, *, recent: bool = False) -> bool:
    """No voice agent of ``language`` online; ``recent`` accepts an answer up to ``ONLINE_MEMORY_SECONDS`` old."""
    remembered = _online_memory.get(language)
    if recent and remembered and time.monotonic() - remembered[0] < ONLINE_MEMORY_SECONDS:
        return remembered[1] == 0
    online = routing.live_agents_online(language=language, channel=Channel.VOICE)
    _online_memory[language] = (time.monotonic(), online)
    return online == 0


def forget_who_is_online(**_signal) -> None:
    """Subscriber of ``apps.routing.signals.presence_changed``."""
    _online_memory.clear()


def to_async(call: Call, *, state: str, now: datetime) -> Ticket:
    """Voicemail, a callback asked for, or a hang-up in the queue: the call becomes async work, once."""
    if not call.live:
        return call.ticket
    call.state = state
    save(call, ["state", "language", "queue_seconds"])
    ticket = ensure_ticket(call, now=now, waiting=False)
    data = {"event": state}
    if call.queue_seconds is not None:
        data["queue_seconds"] = call.queue_seconds
    actions.record_call(ticket=ticket, data=data, at=now)
    actions.live_to_async(ticket=ticket, at=now, reason="phone")
    return ticket


def language_of(sid: str) -> str:
    """The language a call chose, read without a lock (an answer's fallback when its URL does not say)."""
    return Call.objects.filter(sid=sid).values_list("language", flat=True).first() or "" if sid else ""


def queue_result(call: Call, params, *, now: datetime) -> None:
    """The queue's report on how the caller left it: answered, abandoned, or off to a callback or voicemail."""
    result = (params.get("QueueResult") or "").strip()
    waited = integer(params.get("QueueTime"))
    if call.queue_seconds is None and waited is not None:
        call.queue_seconds = waited
    if result in QUEUE_ANSWERED:
        answered(call, queue_seconds=waited, now=now)
    elif result == "hangup":
        to_async(call, state=State.ABANDONED, now=now)
    elif result == "leave" and call.leaving_for == "callback":
        to_async(call, state=State.CALLBACK, now=now)
    elif result == "leave" or result in QUEUE_FAILED or call.state == State.QUEUED:
        to_async(call, state=State.VOICEMAIL, now=now)


def start_voicemail(call: Call, *, chosen_language: str, now: datetime) -> None:
    """The caller is recording a voicemail (from closed hours, the queue or an apology): async work from now."""
    if chosen_language and call.state == State.MENU:
        call.language = chosen_language
    if call.state in (State.MENU, State.QUEUED):
        call.language = call.language or "en"
        to_async(call, state=State.VOICEMAIL, now=now)


def answered(call: Call, *, queue_seconds: int | None, now: datetime) -> None:
    """The caller left the queue to the agent who accepted: QueueTime says when, for the answer target."""
    if call.queue_seconds is None and queue_seconds is not None:
        call.queue_seconds = queue_seconds
    if call.state not in (State.BRIDGING, State.BRIDGED) or call.ticket_id is None:
        save(call, ["queue_seconds"])
        return
    at = (call.queued_at + timedelta(seconds=queue_seconds)) if call.queued_at and queue_seconds is not None else now
    first = call.state == State.BRIDGING
    call.state = State.BRIDGED
    call.answered_at = call.answered_at or at
    save(call, ["state", "answered_at", "queue_seconds"])
    if first:
        actions.answer_call(ticket=call.ticket, at=at, user=call.answered_by)
        actions.record_call(ticket=call.ticket, at=at, data={
            "event": "bridged", "agent": display_name(call.answered_by) if call.answered_by else None,
            "queue_seconds": call.queue_seconds})


def store_recording(call: Call, params, *, now: datetime) -> None:
    """The voicemail's audio landed: on the call, and as the user's message on the ticket (once per recording)."""
    sid = (params.get("RecordingSid") or "").strip()[:64]
    url = (params.get("RecordingUrl") or "").strip()[:500]
    if not url.startswith("https://") and not url.startswith("http://"):
        return
    seconds = integer(params.get("RecordingDuration"))
    call.recording_sid, call.recording_url, call.recording_seconds = sid, url, seconds
    save(call, ["recording_sid", "recording_url", "recording_seconds"])
    if call.state not in (State.VOICEMAIL,):     # the apology's voicemail, after a failure: make it one now
        to_async(call, state=State.VOICEMAIL, now=now)
    ticket = surviving(ensure_ticket(call, now=now, waiting=False))   # merged meanwhile: the survivor hears it
    length = f"{(seconds or 0) // 60}:{(seconds or 0) % 60:02d}"
    actions.add_message(ticket=ticket, direction=Message.Direction.INBOUND, author_contact=ticket.contact,
                        channel=Channel.VOICE, external_id=sid or f"{call.sid}-recording",
                        body=_("Voicemail (%(length)s): %(url)s") % {"length": length, "url": url}, created_at=now)


def store_transcription(call: Call, params, *, now: datetime) -> None:
    """Twilio's (English) transcription of the voicemail, added to the ticket beside the audio."""
    text = (params.get("TranscriptionText") or "").strip()
    if (params.get("TranscriptionStatus") or "completed") != "completed" or not text or call.ticket_id is None:
        return
    call.transcription = text[:20_000]
    save(call, ["transcription"])
    sid = (params.get("TranscriptionSid") or "").strip()[:64] or f"{call.sid}-transcription"
    ticket = surviving(call.ticket)     # a voicemail's ticket may be merged before Twilio transcribes it
    actions.add_message(ticket=ticket, direction=Message.Direction.INBOUND, author_contact=ticket.contact,
                        channel=Channel.VOICE, external_id=sid, created_at=now,
                        body=_("Voicemail transcription: %(text)s") % {"text": call.transcription})


def record_status(call: Call, params, *, now: datetime) -> None:
    """A status callback: callbacks may arrive out of order, so only a later SequenceNumber moves the status.

    The call's end is recorded on its ticket once: its duration and who answered. A caller who
    hangs up while queued (the queue's own report may come later or never) is an abandoned call.
    """
    sequence = integer(params.get("SequenceNumber"))
    status = (params.get("CallStatus") or "").strip()[:16]
    duration = integer(params.get("CallDuration")) or integer(params.get("Duration"))
    fields = []
    if duration is not None and call.duration_seconds is None:
        call.duration_seconds = duration
        fields.append("duration_seconds")
    ended_before = call.twilio_status in ENDED
    if status and (sequence is None or sequence > call.status_sequence) and not ended_before:
        call.twilio_status = status
        call.status_sequence = sequence if sequence is not None else call.status_sequence
        fields += ["twilio_status", "status_sequence"]
    save(call, fields)
    if status not in ENDED or ended_before:
        return
    if call.state == State.QUEUED:
        to_async(call, state=State.ABANDONED, now=now)
    if call.ticket_id:
        actions.record_call(ticket=call.ticket, at=now, data={
            "event": "ended", "status": status, "duration_seconds": call.duration_seconds,
            "answered_by": display_name(call.answered_by) if call.answered_by else None})


def bridge_to(*, ticket: Ticket, user) -> Call | None:
    """An agent took the ticket of a queued call: the call is to be bridged to them (None: not a waiting call).

    One conditional UPDATE: of two agents taking it, one moves the call; a ticket without a waiting
    call (most that are taken) costs that one statement.
    """
    moved = Call.objects.filter(ticket=ticket, state=State.QUEUED).update(
        state=State.BRIDGING, answered_by=user, updated_at=timezone.now())
    return Call.objects.filter(ticket=ticket, state=State.BRIDGING, answered_by=user).first() if moved else None


def leave_queue_for(call: Call, destination: str, *, now: datetime) -> None:
    """The caller asked to leave the queue (or nobody is left to answer): the queue's report decides what follows."""
    call.leaving_for = destination
    Call.objects.filter(pk=call.pk).update(leaving_for=destination, updated_at=now)


def integer(value) -> int | None:
    """A whole number a call's counters hold (0 to ``LARGEST``), or None: Twilio's parameters are text."""
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        return None
    return number if 0 <= number <= LARGEST else None
