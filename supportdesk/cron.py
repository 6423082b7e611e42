"""Periodic jobs for `manage.py rqcron supportdesk.cron` (with Redis): the list in supportdesk.schedule."""

from django.utils.module_loading import import_string
from rq import cron

from supportdesk.schedule import periodic_jobs

for job in periodic_jobs():
    cron.register(import_string(job.func), job.queue, interval=job.every_seconds, name=job.name)
