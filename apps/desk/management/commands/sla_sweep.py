import time

from django.core.management.base import BaseCommand

from apps.desk.actions import sweep_sla


class Command(BaseCommand):
    help = "Mark SLA breaches and send warnings for targets that have fallen due."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=0,
                            help="Repeat every N seconds (the worker schedules it without this).")

    def handle(self, *args, every, **options):
        while True:
            result = sweep_sla()
            self.stdout.write(f"breached {len(result.breached)}, warned {len(result.warned)}")
            if not every:
                return
            time.sleep(every)
