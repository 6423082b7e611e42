from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.tickets.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Load the demo regions, queues, agents and owners (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Seed even with DEBUG off (demo passwords are public).")

    def handle(self, *args, force, **options):
        if not settings.DEBUG and not force:
            raise CommandError("refusing to seed demo users with DEBUG off; pass --force")
        lines = seed_demo()
        self.stdout.write(f"Demo data ready. Every login below uses the password {DEMO_PASSWORD!r}.")
        for what, value in lines:
            self.stdout.write(f"  {what:<32} {value}")
