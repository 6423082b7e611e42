import json

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from apps.policy.services import PolicyError, get_region
from apps.sla.services import preview


class Command(BaseCommand):
    help = "Print a ticket's SLA deadlines for a region, channel and receipt time (ISO-8601, UTC out)."

    def add_arguments(self, parser):
        parser.add_argument("--region", required=True, help="us, europe, malaysia or japan")
        parser.add_argument("--channel", required=True, help="chat, voice, email or feedback")
        parser.add_argument("--received", required=True, help="e.g. 2025-12-23T15:00+01:00")

    def handle(self, *args, region, channel, received, **options):
        at = parse_datetime(received)
        if at is None:
            raise CommandError(f"--received is not an ISO-8601 date-time: {received!r}")
        try:
            due = preview(region=get_region(region), channel=channel, received=at)
        except PolicyError as error:
            raise CommandError(str(error)) from error
        self.stdout.write(json.dumps({key: iso_utc(value) for key, value in due.items()}))


def iso_utc(value) -> str:
    from datetime import UTC

    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
