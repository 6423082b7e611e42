"""Background jobs: rq on Redis, or run in process when the desk runs embedded or Redis is away.

Services call ``enqueue_on_commit`` so a rolled-back transaction leaves no job
behind; jobs are named by dotted path and take ids only. The callback runs after the
commit: whatever happens to the job, the caller's work is stored and its request must
not fail. So a job rq cannot take (Redis is away) runs here and now instead, and a job
that fails is logged; what it should have done is also left for the periodic jobs
(stored mail, due outbox rows), so nothing waits on the job alone.
"""

import logging
import time

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)
_queues: dict[tuple[str, str], object] = {}


def _queue(name: str):
    """rq's queue, made once per process and Redis URL: ``django_rq.get_queue`` opens a new connection
    pool at every call, which under load meant a new Redis connection per job, left for the collector."""
    key = (name, settings.RQ_QUEUES[name]["URL"])
    queue = _queues.get(key)
    if queue is None:
        import django_rq

        queue = _queues[key] = django_rq.get_queue(name)
    return queue


def enqueue(queue: str, func_path: str, *args) -> None:
    if settings.REDIS_URL:
        from redis.exceptions import RedisError

        try:
            _queue(queue).enqueue(func_path, *args)
            return
        except (RedisError, OSError) as error:
            log.warning("Redis is away (%s): running %s in this process", error, func_path)
    try:
        import_string(func_path)(*args)
    except Exception:
        log.exception("in-process job %s failed", func_path)


def enqueue_on_commit(queue: str, func_path: str, *args) -> None:
    transaction.on_commit(lambda: enqueue(queue, func_path, *args))


def enqueue_burst(mark: str, queue: str, func_path: str, *, mark_seconds: int = 30) -> None:
    """Queue one job for a burst of stored work, not one per item: the first item of a burst sets ``mark``.

    The job calls ``burst_started(mark)`` before it claims work, so an item stored after the claim
    queues the next job. A lost job only delays the work until the mark expires or the schedule's
    sweep does it. Embedded (no Redis), the job runs here and now: nothing waits in a queue.
    """
    if settings.REDIS_URL:
        from django.core.cache import cache

        try:
            if not cache.add(mark, 1, timeout=mark_seconds):
                return  # a job is waiting and will see this item
        except Exception:  # the cache is Redis; when it is away, a job too many is harmless
            log.warning("could not read the mark %s; queueing a job anyway", mark, exc_info=True)
    enqueue(queue, func_path)


def burst_started(mark: str) -> None:
    """The burst's job is running: items stored from now on queue another one."""
    if not settings.REDIS_URL:
        return
    from django.core.cache import cache

    try:
        cache.delete(mark)
    except Exception:  # when Redis is away the mark expires by itself
        log.warning("could not clear the mark %s", mark, exc_info=True)


class Slice:
    """How long a worker's job may go on: until its time is up, or until another queue has a job waiting.

    The worker takes its queues in turn, but only between jobs: a job that keeps finding
    work (a flood of mail, a busy phone line) held every other queue up for its whole
    slice, so a caller's ticket could reach the console ten seconds late behind mail. A job
    that asks ``over()`` between batches and leaves the rest to a job of its own now delays
    the others by one batch. Outside a worker (embedded, the ticker) no queue waits, so
    only the time counts. Jobs waiting in the job's own queue wait for the slice: that is
    where the job's own follow-up waits.
    """

    def __init__(self, seconds: float):
        from rq import get_current_job

        from supportdesk.launcher import worker_queues

        self.ends, self.ended = time.monotonic() + seconds, False
        job = get_current_job()
        self.in_worker = job is not None        # else a webhook, the ticker or a test called the job
        self.others = [name for name in worker_queues() if name != job.origin] if job and settings.REDIS_URL else []

    def over(self) -> bool:
        """Whether to stop now; once true, ``ended`` says so (the job then queues its follow-up)."""
        self.ended = self.ended or time.monotonic() >= self.ends or self.others_waiting()
        return self.ended

    def others_waiting(self) -> bool:
        """Whether another of the worker's queues has a job waiting: one round trip to Redis."""
        if not self.others:
            return False
        from redis.exceptions import RedisError

        try:
            pipe = _queue(self.others[0]).connection.pipeline(transaction=False)
            for name in self.others:
                pipe.llen(_queue(name).key)
            return any(pipe.execute())
        except (RedisError, OSError):
            return False    # the worker will find out; this job goes on meanwhile
