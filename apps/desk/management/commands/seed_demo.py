from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from apps.desk.demo import DEMO_PASSWORD, has_accounts_of_its_own, seed_demo
from apps.policy.services import demo_mode_on


class Command(BaseCommand):
    help = "Load the demo regions, queues, agents and owners that are missing (safe to run again: edits stay)."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true",
                            help="Seed into a database that has accounts of its own (demo passwords are public).")
        parser.add_argument("--real-hours", action="store_true",
                            help="Keep chat and phone to the policy's hours (demo mode off); "
                                 "by default they stay open any day so the desk can be tried.")
        parser.add_argument("--keep-demo-mode", action="store_true",
                            help="Leave the demo switch as it is once it exists (what `make run` does at every "
                                 "start, so an administrator's choice stays).")

    def handle(self, *args, force, real_hours, keep_demo_mode, **options):
        # A fresh database, DEBUG or the demo (DEMO=1) may take demo logins; a desk in use only when asked twice.
        if not (force or settings.DEBUG or settings.DEMO) and has_accounts_of_its_own():
            raise CommandError("refusing to add demo logins (public password) to a database with accounts of "
                               "its own; pass --force")
        lines = seed_demo(real_hours=real_hours, keep_demo_mode=keep_demo_mode)
        self.stdout.write(f"Demo data ready. Every login below uses the password {DEMO_PASSWORD!r}.")
        for what, value in lines:
            self.stdout.write(f"  {what:<32} {value}")
        if not demo_mode_on():
            self.stdout.write(_("Real hours: chat and phone open only in the policy's hours (demo mode off)."))
        else:
            self.stdout.write(_("Demo mode on: chat and phone stay open any day; SLA clocks still count "
                                "the real hours (seed_demo --real-hours turns it off)."))
