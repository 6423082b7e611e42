import time

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.mail.imap import ImapAccount, ImapFolder, poll_imap


class Command(BaseCommand):
    help = "Fetch new mail from the IMAP folder (IMAP_* settings), by UID, resuming after a crash."

    def add_arguments(self, parser):
        parser.add_argument("--every", type=int, default=0, metavar="SECONDS",
                            help="keep polling with this pause (default: poll once)")
        parser.add_argument("--limit", type=int, default=None, help="at most this many messages per poll")

    def handle(self, *args, every, limit, **options):
        account = ImapAccount.from_settings()
        if not account.host or not account.user:
            raise CommandError("IMAP_HOST and IMAP_USER must be set")
        while True:
            folder = ImapFolder(account)
            try:
                result = poll_imap(folder=folder, limit=limit)
            finally:
                folder.close()
            self.stdout.write(f"{account.key}: {result.fetched} messages {result.outcomes or ''}".rstrip())
            if result.too_large:
                self.stderr.write(f"over MAIL_MAX_BYTES, left in the folder: UIDs {result.too_large}")
            if not every:
                return
            time.sleep(every or settings.IMAP_POLL_SECONDS)
