from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.owners.models import ExtensionOwner
from apps.reports import publishing
from apps.reports.quarters import Quarter


class Command(BaseCommand):
    help = ("Write each extension owner's quarterly report (<owner>-<quarter>.html, .pdf, .csv), publish it "
            "in the owner portal and mail the owner's admins (once per quarter).")

    def add_arguments(self, parser):
        parser.add_argument("--quarter", required=True, help="e.g. 2026Q3")
        parser.add_argument("--owner", help="one owner's slug (default: every owner)")
        parser.add_argument("--out", type=Path, help="also write the files to this folder")
        parser.add_argument("--no-mail", action="store_true", help="publish without mailing the admins")
        parser.add_argument("--no-pdf", action="store_true", help="HTML and CSV only")

    def handle(self, *args, quarter, owner, out, no_mail, no_pdf, **options):
        try:
            period = Quarter.parse(quarter)
        except ValueError as error:
            raise CommandError(str(error)) from error
        owners = ExtensionOwner.objects.order_by("slug")
        if owner:
            owners = owners.filter(slug=owner)
            if not owners.exists():
                raise CommandError(f"no extension owner {owner!r}")
        owners = list(owners)
        progress = tqdm(owners, unit="owner", disable=len(owners) < 2, file=self.stderr)
        for each in progress:
            progress.set_description(each.slug)
            done = publishing.publish_one(each, period, out=out, mail=not no_mail, pdf=not no_pdf)
            if done.warning:
                self.stderr.write(self.style.WARNING(f"{done.owner}: {done.warning}"))
            files = ", ".join(str(path) for path in done.files) or "published in the portal"
            self.stdout.write(f"{done.owner} {done.quarter}: {done.tickets} tickets; {files}")
