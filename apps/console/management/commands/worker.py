import os
import subprocess

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from rq.worker import DequeueStrategy

from supportdesk.launcher import cron_command, worker_queues

VERBOSITY_LEVELS = {0: "WARNING", 1: "INFO", 2: "DEBUG", 3: "DEBUG"}


class Command(BaseCommand):
    help = ("The rq worker and its schedulers on every queue the desk uses, taken in turn (a busy queue "
            "does not hold up the others): delayed jobs and retries "
            "(rq's scheduler) and the periodic jobs of supportdesk.schedule (rq's cron). "
            "With --burst: move the due scheduled jobs and retries, drain the queues, exit.")

    def add_arguments(self, parser):
        parser.add_argument("--burst", action="store_true", help="drain the queues once and exit")

    def handle(self, *args, burst, verbosity, **options):
        if not settings.REDIS_URL:
            raise CommandError("REDIS_URL is not set: without Redis the desk runs its jobs in process "
                               "(make run starts them inside the server).")
        import django_rq

        level = VERBOSITY_LEVELS.get(verbosity, "INFO")
        worker = django_rq.get_worker(*worker_queues(), worker_class="supportdesk.worker.DeskWorker")
        if burst:
            moved = self.move_due_scheduled_jobs(worker)
            worker.work(burst=True, logging_level=level, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
            self.stdout.write(f"moved {moved} due scheduled jobs; queues drained")
            return
        if settings.WORKER_NICE:
            os.nice(settings.WORKER_NICE)        # the worker, its scheduler and cron (children inherit it)
        # rq's cron scheduler installs signal handlers, so it needs a main thread: its own process.
        cron = subprocess.Popen(cron_command(), cwd=settings.BASE_DIR)
        try:
            worker.work(with_scheduler=True, logging_level=level, dequeue_strategy=DequeueStrategy.ROUND_ROBIN)
        finally:
            cron.terminate()
            try:
                cron.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cron.kill()

    def move_due_scheduled_jobs(self, worker) -> int:
        """Scheduled jobs and retries that are due, into their queues: one pass of rq's own scheduler."""
        from rq.scheduler import RQScheduler

        scheduler = RQScheduler(worker.queues, connection=worker.connection)
        before = sum(queue.count for queue in worker.queues)
        if scheduler.acquire_locks():
            try:
                scheduler.enqueue_scheduled_jobs()
            finally:
                scheduler.release_locks()
        return sum(queue.count for queue in worker.queues) - before
