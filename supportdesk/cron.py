"""Periodic jobs for `manage.py rqcron supportdesk.cron` (started by `make run`)."""

from django.conf import settings
from rq import cron

from apps.console.jobs import routing_tick_job
from apps.sla.jobs import sweep_job

cron.register(sweep_job, "sla", interval=settings.SLA_SWEEP_INTERVAL_SECONDS, name="sla-sweep")
cron.register(routing_tick_job, "default", interval=5, name="routing-tick")
