"""Background jobs: rq on Redis, or run in process when the desk runs embedded or Redis is away.

Services call ``enqueue_on_commit`` so a rolled-back transaction leaves no job
behind; jobs are named by dotted path and take ids only. The callback runs after the
commit: whatever happens to the job, the caller's work is stored and its request must
not fail. So a job rq cannot take (Redis is away) runs here and now instead, and a job
that fails is logged; what it should have done is also left for the periodic jobs
(stored mail, due outbox rows), so nothing waits on the job alone.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


def enqueue(queue: str, func_path: str, *args) -> None:
    if settings.REDIS_URL:
        import django_rq
        from redis.exceptions import RedisError

        try:
            django_rq.get_queue(queue).enqueue(func_path, *args)
            return
        except (RedisError, OSError) as error:
            log.warning("Redis is away (%s): running %s in this process", error, func_path)
    try:
        import_string(func_path)(*args)
    except Exception:
        log.exception("in-process job %s failed", func_path)


def enqueue_on_commit(queue: str, func_path: str, *args) -> None:
    transaction.on_commit(lambda: enqueue(queue, func_path, *args))
