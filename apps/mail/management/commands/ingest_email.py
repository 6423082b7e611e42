import os
import sys
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.mail import services, sources
from apps.mail.models import InboundEmail


class Command(BaseCommand):
    help = "Ingest mail from .eml files, mbox files, Maildirs or folders of .eml files ('-' reads stdin)."

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="FILE", help=".eml, mbox, Maildir, folder, or -")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args, paths, no_progress, **options):
        for name in paths:
            if name != "-" and not os.path.exists(name):
                raise CommandError(f"{name}: no such file or directory")
        total = sources.count_messages(paths)
        outcomes = Counter()
        progress = tqdm(total=total, unit="msg", disable=no_progress or (total is not None and total < 2),
                        file=sys.stderr)
        for label, raw in sources.iter_messages(paths, stdin=sys.stdin.buffer):
            try:
                inbound = services.ingest_email(raw=raw, source=InboundEmail.Source.FILE)
            except services.MessageTooLarge as error:
                self.stderr.write(f"{label}: {error}")
                outcomes["too_large"] += 1
            else:
                outcomes[inbound.outcome] += 1
                if total == 1 or total is None:
                    reference = inbound.ticket.reference if inbound.ticket else "-"
                    self.stdout.write(f"{label}: {inbound.get_outcome_display()} {reference}")
            progress.update(1)
        progress.close()
        summary = ", ".join(f"{InboundEmail.Outcome(k).label if k in InboundEmail.Outcome.values else k}: {v}"
                            for k, v in sorted(outcomes.items()))
        self.stdout.write(f"{sum(outcomes.values())} messages ({summary})")
