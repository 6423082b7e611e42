"""Background work of the phone line: the stored webhooks of calls, applied by the worker."""

from apps.voice import steps


def apply_steps_job() -> int:
    """Apply the pending call steps (queued by ``steps.store``): first a round that retries failed ones
    (the schedule's sweep also runs this job, so a lost job or a failed step waits one sweep at most),
    then fresh steps until none are left."""
    applied = steps.apply_pending(retry=True)
    while done := steps.apply_pending():
        applied += done
    return applied
