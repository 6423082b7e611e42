from django.core.management.base import BaseCommand

from apps.mail import filing


class Command(BaseCommand):
    help = "Process stored messages that were never processed (after a crash or a lost job)."

    def handle(self, *args, **options):
        self.stdout.write(f"{filing.process_pending()} messages processed")
