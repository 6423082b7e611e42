"""Background work of the phone line: the stored webhooks of calls, applied by the worker."""

import time

from django.conf import settings

from apps.voice import steps
from supportdesk.jobs import Slice


def apply_steps_job() -> int:
    """Apply the pending call steps (queued by ``steps.store``); returns how many.

    First a round that retries failed ones (the schedule's sweep also runs this job, so a
    lost job or a failed step waits one sweep at most), then fresh steps while they keep
    coming, for one slice of ``VOICE_STEPS_SLICE_SECONDS`` or until another queue has a job
    waiting (``Slice``); what comes after queues the next job, which the worker takes in turn
    with its other queues' jobs (round-robin), so a busy phone line does not hold up mail,
    SLA or Jira.

    In the worker, a round that found steps is followed by a pause of ``VOICE_STEPS_LINGER_MS``:
    while calls keep coming, their steps are applied in a few larger batches rather than one
    batch per step or two. Each batch has a cost of its own (the calls' lock, who is online,
    routing, the console's push); at 200 webhooks a second the pause halved the worker's CPU
    (bench/RESULTS.md) for a tenth of a second more before a waiting call shows in the console.
    Run in process (embedded, or Redis away: a webhook or the ticker calls it), it applies
    everything at once: a caller is waiting, and no other queue waits for a turn.
    """
    applied = done = steps.apply_pending(retry=True)
    turn = Slice(settings.VOICE_STEPS_SLICE_SECONDS)
    while done:
        if turn.in_worker:          # else a webhook or the ticker: all now, no pause
            if turn.over():
                steps.queue_job()       # the rest in the next job, after the other queues' turn
                break
            time.sleep(settings.VOICE_STEPS_LINGER_MS / 1000)
        done = steps.apply_pending()
        applied += done
    return applied
