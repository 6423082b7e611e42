import time

from django.conf import settings
from django.core.management.base import BaseCommand

from apps.chat.jobs import IDLE_CHECK_SECONDS, end_idle_chats_job
from apps.console.jobs import routing_tick_job
from apps.sla.jobs import sweep_job


class Command(BaseCommand):
    help = ("Run the periodic jobs (offer expiry, presence expiry, SLA sweep, idle chats) in a loop; "
            "`make run` uses it when there is no Redis for rq's scheduler.")

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=5.0)

    def handle(self, *args, every, **options):
        last_sweep = last_idle_check = 0.0
        while True:
            routing_tick_job()
            if time.monotonic() - last_sweep >= settings.SLA_SWEEP_INTERVAL_SECONDS:
                sweep_job()
                last_sweep = time.monotonic()
            if time.monotonic() - last_idle_check >= IDLE_CHECK_SECONDS:
                end_idle_chats_job()
                last_idle_check = time.monotonic()
            time.sleep(every)
