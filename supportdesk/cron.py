"""Periodic jobs for `manage.py rqcron supportdesk.cron` (started by `make run`)."""

from django.conf import settings
from rq import cron

from apps.chat.jobs import IDLE_CHECK_SECONDS, end_idle_chats_job
from apps.console.jobs import routing_tick_job
from apps.mail.jobs import poll_imap_job, process_pending_job
from apps.sla.jobs import sweep_job

cron.register(sweep_job, "sla", interval=settings.SLA_SWEEP_INTERVAL_SECONDS, name="sla-sweep")
cron.register(routing_tick_job, "default", interval=5, name="routing-tick")
cron.register(end_idle_chats_job, "default", interval=IDLE_CHECK_SECONDS, name="chat-idle-end")
# Mail stored by the SMTP listener whose processing job was lost (a worker crash) is picked up here.
cron.register(process_pending_job, "mail", interval=60, name="mail-pending")
if settings.IMAP_HOST:
    cron.register(poll_imap_job, "mail", interval=settings.IMAP_POLL_SECONDS, name="imap-poll")
