import os
import sys
from collections import Counter

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from tqdm import tqdm

from apps.mail import filing, intake, sources
from apps.mail.models import InboundEmail


class Command(BaseCommand):
    help = gettext_lazy("Ingest mail from .eml files, mbox files, Maildirs or folders of .eml files "
                        "('-' reads stdin).")

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="FILE", help=gettext_lazy(".eml, mbox, Maildir, folder, or -"))
        parser.add_argument("--no-progress", action="store_true", help=gettext_lazy("no progress bar"))
        parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                            help=gettext_lazy("processes parsing mail in parallel (default: the number of CPUs; "
                                              "1 parses in this process)"))
        parser.add_argument("--batch-size", type=int, default=200,
                            help=gettext_lazy("messages filed per transaction (default: 200)"))
        parser.add_argument("--no-receipts", action="store_true",
                            help=gettext_lazy("open tickets without sending automatic receipts "
                                              "(e.g. when importing old mail)"))

    def handle(self, *args, paths, no_progress, jobs, batch_size, no_receipts, **options):
        for name in paths:
            if name != "-" and not os.path.exists(name):
                raise CommandError(_("%(path)s: no such file or directory") % {"path": name})
        if jobs < 1 or batch_size < 1:
            raise CommandError(_("--jobs and --batch-size must be at least 1"))
        total = sources.count_messages(paths)
        outcomes = Counter()
        progress = tqdm(total=total, unit="msg", disable=no_progress or (total is not None and total < 2),
                        file=sys.stderr)
        messages = sources.iter_messages(paths, stdin=sys.stdin.buffer)
        labels = []

        def raws():
            for label, raw in messages:
                labels.append(label)
                yield raw

        # One message (or stdin) is not worth a worker process.
        jobs = 1 if total is None or total < 2 else min(jobs, total)
        for index, result in enumerate(filing.ingest_many(raws(), source=InboundEmail.Source.FILE, jobs=jobs,
                                                            batch_size=batch_size, receipts=not no_receipts)):
            label = labels[index]
            if isinstance(result, intake.MessageTooLarge):
                self.stderr.write(f"{label}: {result}")
                outcomes["too_large"] += 1
            else:
                outcomes[result.outcome] += 1
                if total == 1 or total is None:
                    reference = result.ticket.reference if result.ticket else "-"
                    self.stdout.write(f"{label}: {result.get_outcome_display()} {reference}")
            progress.update(1)
        progress.close()
        labels_of = {**dict(InboundEmail.Outcome.choices), "too_large": _("Too large, not stored")}
        summary = ", ".join(f"{labels_of[k]}: {v}" for k, v in sorted(outcomes.items()))
        count = sum(outcomes.values())
        self.stdout.write(ngettext("%(count)d message (%(summary)s)", "%(count)d messages (%(summary)s)", count)
                          % {"count": count, "summary": summary})
