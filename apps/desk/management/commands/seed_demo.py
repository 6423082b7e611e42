from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from apps.desk.demo import DEMO_PASSWORD, seed_demo


class Command(BaseCommand):
    help = "Load the demo regions, queues, agents and owners (safe to run again)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Seed even with DEBUG off (demo passwords are public).")
        parser.add_argument("--real-hours", action="store_true",
                            help="Keep chat and phone to the policy's hours (demo mode off); "
                                 "by default they stay open any day so the desk can be tried.")

    def handle(self, *args, force, real_hours, **options):
        if not settings.DEBUG and not force:
            raise CommandError("refusing to seed demo users with DEBUG off; pass --force")
        lines = seed_demo(real_hours=real_hours)
        self.stdout.write(f"Demo data ready. Every login below uses the password {DEMO_PASSWORD!r}.")
        for what, value in lines:
            self.stdout.write(f"  {what:<32} {value}")
        if real_hours:
            self.stdout.write(_("Real hours: chat and phone open only in the policy's hours (demo mode off)."))
        else:
            self.stdout.write(_("Demo mode on: chat and phone stay open any day; SLA clocks still count "
                                "the real hours (seed_demo --real-hours turns it off)."))
