"""Background work of the phone line: the stored webhooks of calls, applied by the worker."""

import time

from django.conf import settings

from apps.voice import steps


def apply_steps_job() -> int:
    """Apply the pending call steps (queued by ``steps.store``): first a round that retries failed ones
    (the schedule's sweep also runs this job, so a lost job or a failed step waits one sweep at most),
    then fresh ones while they fill whole batches (a backlog). Fewer: the steps stored from then on
    queue the next job (``steps.store``).

    In the rq worker it first lingers ``VOICE_STEPS_LINGER_MS``: the steps stored meanwhile queue no
    other job (the burst's mark is still set) and join this one's batch. Embedded, the job runs at
    the webhook's commit and does not wait.
    """
    if settings.REDIS_URL and settings.VOICE_STEPS_LINGER_MS > 0:
        time.sleep(settings.VOICE_STEPS_LINGER_MS / 1000)
    applied = done = steps.apply_pending(retry=True)
    while done >= steps.BATCH:
        done = steps.apply_pending()
        applied += done
    return applied
