"""A call's stored webhooks, applied in the order they arrived: the busy ones are answered first, written after.

Every webhook that can decide the caller's path from its request (a call arriving, the
language chosen, leaving the queue, the queue's result, a voicemail and its transcription,
a status callback) stores a ``CallStep`` and answers; the voice worker applies the steps
here: the call row, then through ``calls`` the ticket, its clocks and the offer to an agent.
A webhook that needs the call's state (an agent's leg ending) first applies what is pending
for its call (``catch_up``), under the call's lock, which the worker takes too, so a step is
applied once and in its call's order.
"""

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.desk import actions
from apps.voice import calls
from apps.voice.models import Call, CallStep
from supportdesk.jobs import burst_started, enqueue_burst
from supportdesk.readonce import read_once

log = logging.getLogger(__name__)
State = Call.State
QUEUED_MARK = "voice:steps-queued"
BATCH = 200
MAX_ATTEMPTS = 5


def store(*, step: str, params, decision: str = "", now: datetime, **chosen) -> None:
    """Keep a webhook as it arrived (``chosen``: what the answer settled, e.g. the language) for the worker."""
    data = {key: value.replace("\x00", "") for key, value in params.items()}     # PostgreSQL keeps no NUL
    data.update(chosen)
    CallStep.objects.create(sid=calls.sid_of(params), step=step, decision=decision, params=data, received_at=now)
    transaction.on_commit(queue_job)


def queue_job() -> None:
    """The worker's job that applies pending steps, unless one is queued already."""
    enqueue_burst(QUEUED_MARK, "default", "apps.voice.jobs.apply_steps_job")


def leaving_for(sid: str) -> str:
    """Where the caller asked to go when they left the queue ("voicemail", "callback"), from their stored step."""
    return (CallStep.objects.filter(sid=sid, step="leave").order_by("-pk")
            .values_list("decision", flat=True).first() or "")


def apply_pending(*, limit: int = BATCH, retry: bool = False) -> int:
    """Apply the stored steps of up to ``limit`` pending ones' calls, in one transaction; returns how many.

    Callers who entered a queue are put there together, their tickets opened in one go; then
    each call's steps are applied in order. At the end the changed calls are written in one
    statement (``calls.written_together``) and the history they add in another; the callers who
    left the queue are handed back to the async queues, and every ticket is routed, together
    (``actions.together``). A step that fails is the failing call's alone (``_apply_all``).
    A step that failed before waits for a ``retry`` round (the schedule's sweep), so a broken
    step is tried once per sweep, not in a tight loop.
    """
    burst_started(QUEUED_MARK)
    pending = CallStep.objects.filter(applied_at__isnull=True)
    if not retry:
        pending = pending.filter(attempts=0)
    first_params = [params for _sid, params in pending.order_by("pk").values_list("sid", "params")[:limit]]
    if not first_params:
        return 0
    with transaction.atomic(), read_once(across_requests=True), actions.together(), calls.written_together():
        held = calls.lock_calls(first_params)
        steps_of: dict[str, list[CallStep]] = {sid: [] for sid in held}
        for step in CallStep.objects.filter(sid__in=held, applied_at__isnull=True).order_by("pk"):
            steps_of[step.sid].append(step)
        _queue_together(held, steps_of)
        applied = _apply_all(held, steps_of)
        CallStep.objects.filter(pk__in=applied).update(applied_at=timezone.now())
        return len(applied)


def _queue_together(held: dict[str, Call], steps_of: dict[str, list[CallStep]]) -> None:
    """The batch's callers entering a queue, all at once (each call's own steps then find it done).

    If that fails, each call's steps are applied one by one instead, where a failure stays that call's.
    """
    entering = []
    for sid, call in held.items():
        chosen = next((step for step in steps_of[sid] if step.step == "language" and step.decision != "again"), None)
        if chosen is not None and chosen.decision == "queued" and call.state == State.MENU:
            entering.append((call, chosen.params.get("language") or "en", chosen.received_at))
    if not entering:
        return
    batch = actions.together_now()
    mark = batch.mark() if batch else 0
    try:
        with transaction.atomic():
            calls.enqueue_many(entering)
    except Exception:
        if batch:
            batch.forget_since(mark)
        log.exception("could not queue %d calls together: one by one instead", len(entering))
        for call, _language, _now in entering:
            call.refresh_from_db()


def _apply_all(held: dict[str, Call], steps_of: dict[str, list[CallStep]]) -> list[int]:
    """Every call's steps, in order, in one savepoint; the ones applied (``applied_at`` is the caller's to write).

    Usually every step applies. If one fails, the calls are applied one call at a time
    (``_apply_steps``), so the failure stays that call's.
    """
    pairs = [(call, steps_of[sid]) for sid, call in held.items()]
    if failure := _undone_on_failure(pairs):
        log.warning("a batch of %d calls' steps failed together: one call at a time instead", len(held),
                    exc_info=failure)
        return [pk for call, pending in pairs for pk in _apply_steps(call, pending)]
    return [step.pk for _call, pending in pairs for step in pending]


def catch_up(call: Call, pending: list[CallStep] | None = None) -> int:
    """Apply the call's pending steps in order (the caller holds the call's lock); returns how many."""
    if pending is None:
        pending = list(CallStep.objects.filter(sid=call.sid, applied_at__isnull=True).order_by("pk"))
    applied = _apply_steps(call, pending)
    CallStep.objects.filter(pk__in=applied).update(applied_at=timezone.now())
    return len(applied)


def _apply_steps(call: Call, pending: list[CallStep]) -> list[int]:
    """The call's steps applied in order; the ones applied (their ``applied_at`` is the caller's to write).

    Usually every step applies: all in one savepoint. If one fails, the steps are applied one at
    a time, each in its own, so the failure stays that step's and the steps before it are kept.
    """
    if not pending or not _undone_on_failure([(call, pending)]):
        return [step.pk for step in pending]
    applied = []
    for step in pending:
        if (error := _undone_on_failure([(call, [step])])) is None:
            applied.append(step.pk)
            continue
        # Kept for another try; the call's later steps wait behind it.
        log.error("voice step %s (%s) of call %s failed", step.pk, step.step, call.sid, exc_info=error)
        step.attempts += 1
        step.error = repr(error)[:2000]
        if step.attempts < MAX_ATTEMPTS:
            step.save(update_fields=["attempts", "error"])
            break
        step.applied_at = timezone.now()        # given up: recorded with its error, the call goes on
        step.save(update_fields=["attempts", "error", "applied_at"])
    return applied


def _undone_on_failure(pairs: list[tuple[Call, list[CallStep]]]) -> Exception | None:
    """Apply each ``(call, steps)`` in one savepoint; None, or the error after which all of it is undone.

    Undone means the savepoint rolled back, the batch's waiting work of these steps forgotten
    (``actions.together``) and each call as it was in memory before (``calls.restore``).
    """
    batch = actions.together_now()
    mark = batch.mark() if batch else 0
    before = [calls.remember(call) for call, _pending in pairs]
    try:
        with transaction.atomic():
            for call, pending in pairs:
                for step in pending:
                    _apply(call, step)
    except Exception as error:
        if batch:
            batch.forget_since(mark)
        for (call, _pending), remembered in zip(pairs, before, strict=True):
            calls.restore(call, remembered)
        return error
    return None


def _apply(call: Call, step: CallStep) -> None:
    params, now = step.params, step.received_at
    if step.step == "language":
        _apply_language(call, step, now=now)
    elif step.step == "leave":
        calls.leave_queue_for(call, step.decision, now=now)
    elif step.step == "queue-result":
        calls.queue_result(call, params, now=now)
    elif step.step == "voicemail" and step.decision == "recording":
        calls.store_recording(call, params, now=now)
    elif step.step == "voicemail":
        calls.start_voicemail(call, chosen_language=params.get("chosen_language") or "", now=now)
    elif step.step == "transcription":
        calls.store_transcription(call, params, now=now)
    elif step.step == "status":
        calls.record_status(call, params, now=now)
    # "incoming" only makes the call row, which ``call_for`` did.


def _apply_language(call: Call, step: CallStep, *, now: datetime) -> None:
    if step.decision == "again":
        call.menu_misses += 1
        calls.save(call, ["menu_misses"])
        return
    if call.state != State.MENU:        # a repeated request, or queued with the batch: the call already moved on
        return
    call.language = step.params.get("language") or "en"
    if step.decision == "voicemail":
        calls.to_async(call, state=State.VOICEMAIL, now=now)
    else:
        calls.enqueue(call, now=now)
