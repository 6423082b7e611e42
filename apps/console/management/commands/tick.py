import time

from django.core.management.base import BaseCommand

from supportdesk.schedule import Ticker, periodic_jobs


class Command(BaseCommand):
    help = ("Run the desk's periodic jobs (supportdesk.schedule) in a loop, without Redis. "
            "The embedded server (`make run` without Redis) runs the same list inside itself.")

    def add_arguments(self, parser):
        parser.add_argument("--every", type=float, default=1.0, help="seconds between checks for due jobs")
        parser.add_argument("--once", action="store_true", help="run every job once and exit")

    def handle(self, *args, every, once, **options):
        ticker = Ticker(periodic_jobs())
        while True:
            ticker.run_due()
            if once:
                return
            time.sleep(every)
