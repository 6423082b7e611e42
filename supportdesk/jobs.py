"""Background jobs: rq on Redis, or run in process when the desk runs embedded.

Services call ``enqueue_on_commit`` so a rolled-back transaction leaves no job
behind; jobs are named by dotted path and take ids only.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


def enqueue(queue: str, func_path: str, *args) -> None:
    if settings.REDIS_URL:
        import django_rq

        django_rq.get_queue(queue).enqueue(func_path, *args)
        return
    # Embedded mode: no broker, so the job runs now; a failure is logged, not raised into the caller.
    try:
        import_string(func_path)(*args)
    except Exception:
        log.exception("in-process job %s failed", func_path)


def enqueue_on_commit(queue: str, func_path: str, *args) -> None:
    transaction.on_commit(lambda: enqueue(queue, func_path, *args))
