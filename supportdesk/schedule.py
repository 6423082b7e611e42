"""The desk's periodic jobs, listed once.

Two runners read this list: rq's cron scheduler (``supportdesk/cron.py``, with Redis)
and the in-process ``Ticker`` (the embedded server, ``manage.py tick``). They used to
keep a list each, and the embedded one lacked the mail jobs.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: str          # dotted path: rq pickles it by name, the ticker imports it
    queue: str
    every_seconds: int


def periodic_jobs() -> list[PeriodicJob]:
    """What runs on its own, how often, on which rq queue."""
    from apps.chat.jobs import IDLE_CHECK_SECONDS

    jobs = [
        PeriodicJob("routing-tick", "apps.console.jobs.routing_tick_job", "default", 5),
        # Calls' stored webhooks whose job was lost, and failed steps' retries (a job per burst does the rest).
        PeriodicJob("voice-steps", "apps.voice.jobs.apply_steps_job", "default", 10),
        # Who was online, per hour: the staffing forecast compares each hour of the week with it.
        PeriodicJob("presence-history", "apps.routing.jobs.record_presence_job", "default", 60),
        PeriodicJob("sla-sweep", "apps.desk.jobs.sweep_sla_job", "sla", settings.SLA_SWEEP_INTERVAL_SECONDS),
        PeriodicJob("chat-idle-end", "apps.chat.jobs.end_idle_chats_job", "default", IDLE_CHECK_SECONDS),
        # Mail stored by the SMTP listener whose processing job was lost (a crash) is picked up here.
        PeriodicJob("mail-pending", "apps.mail.jobs.process_pending_job", "mail", 60),
        # Retries that are due, and rows whose delivery job was never queued (Redis away) or lost.
        PeriodicJob("outbox-deliver", "apps.outbox.jobs.deliver_due_job", "mail", 10),
        # Forwarded issues read back from each owner's Jira: a lost webhook only delays the sync.
        PeriodicJob("jira-reconcile", "apps.jira_sync.jobs.reconcile_job", "jira",
                    settings.JIRA_RECONCILE_SECONDS),
        # Owners' quarterly reports, published on the first working day after each quarter.
        PeriodicJob("quarterly-reports", "apps.reports.jobs.quarterly_reports_job", "default", 3600),
    ]
    if settings.IMAP_HOST:
        jobs.append(PeriodicJob("imap-poll", "apps.mail.jobs.poll_imap_job", "mail", settings.IMAP_POLL_SECONDS))
    return jobs


class Ticker:
    """Runs each job of the list when its interval has passed, one at a time, in this thread.

    A failing job is logged and tried again at its next interval; it never stops the others.
    """

    def __init__(self, jobs: list[PeriodicJob], *, clock: Callable[[], float] = time.monotonic):
        self.jobs, self.clock = jobs, clock
        self.last_run: dict[str, float] = {}

    def run_due(self) -> list[str]:
        """Run every job that is due; returns their names."""
        ran = []
        for job in self.jobs:
            last = self.last_run.get(job.name)
            if last is not None and self.clock() - last < job.every_seconds:
                continue
            self.last_run[job.name] = self.clock()
            close_old_connections()
            try:
                import_string(job.func)()
            except Exception:
                log.exception("periodic job %s failed", job.name)
            finally:
                close_old_connections()
            ran.append(job.name)
        return ran
