"""Outbox proof: N mails through a relay that defers 30 % of them, each accepted exactly once.

An aiosmtpd stand-in (the ``DeferringRelay`` of apps/outbox/tests/test_delivery.py, a
copy: bench scripts import no test module) answers ``451`` to the first DATA of
``--deferred`` of the messages, chosen by a hash of the Message-ID, and counts every
message it accepts. N mails are queued through ``apps.outbox.email.send_email_later``
(one transaction, as a batch of receipts is), the delivery jobs the rows queue are held
back (as when no worker runs), and ``apps.outbox.services.deliver_due``, the schedule's
sweep, runs until no row is pending: between rounds the pending rows' ``next_attempt_at``
is set to now, so a retry's backoff costs no real time. SMTP is real (Django's SMTP
backend over 127.0.0.1).

    .venv/bin/python bench/outbox_retry.py [--mails 500] [--deferred 0.3] [--db postgres|sqlite]
                                           [--database-url postgres://…/sd_bench_outbox]
                                           [--write-results bench/RESULTS.md] [--smoke]

``--db postgres`` (the default) creates the database named in ``--database-url`` (dropped
first if it exists) and drops it at the end; ``--db sqlite`` uses a file in a temporary
folder. ``--smoke`` is the test suite's run: 40 mails. Exit status 0 when every mail
was accepted exactly once and every row is sent, 1 otherwise.
"""

import argparse
import hashlib
import os
import platform
import shlex
import shutil
import socket
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sd_bench_outbox")


class DeferringRelay:
    """Answers 451 to the first DATA of ``deferred_share`` of the messages (by Message-ID); counts acceptances."""

    def __init__(self, *, deferred_share: float):
        self.deferred_share = deferred_share
        self.accepted: dict[str, int] = {}
        self.deferred: set[str] = set()

    async def handle_DATA(self, server, session, envelope):
        message_id = next(line.split(b":", 1)[1].strip().decode() for line in envelope.original_content.splitlines()
                          if line.lower().startswith(b"message-id:"))
        share = int(hashlib.sha256(message_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        if share < self.deferred_share and message_id not in self.deferred:
            self.deferred.add(message_id)
            return "451 4.3.0 Try again later"
        self.accepted[message_id] = self.accepted.get(message_id, 0) + 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_url(url: str) -> tuple[str, str]:
    """The maintenance URL (database ``postgres``) and the database name of a PostgreSQL URL."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        raise SystemExit(f"--database-url names no database: {url}")
    return urlunsplit(parts._replace(path="/postgres")), name


def create_postgres(url: str) -> None:
    import psycopg

    maintenance, name = server_url(url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_postgres(url: str) -> None:
    import psycopg

    maintenance, name = server_url(url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def setup_django(database_url: str, smtp_port: int, media: Path) -> None:
    # No Redis: nothing is queued anywhere else, and the jobs the rows ask for are held below.
    os.environ.pop("REDIS_URL", None)
    os.environ.update({
        "DATABASE_URL": database_url, "DEBUG": "0", "SECRET_KEY": "bench-only", "LOG_LEVEL": "CRITICAL",
        "MEDIA_ROOT": str(media), "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend", "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(smtp_port), "EMAIL_USE_TLS": "0", "EMAIL_HOST_USER": "", "EMAIL_HOST_PASSWORD": "",
    })
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command

    settings.EMAIL_TIMEOUT = 10
    call_command("migrate", verbosity=0)


def queue_mails(count: int) -> list[str]:
    from django.db import transaction

    from apps.outbox.email import send_email_later

    ids = [f"<outbox-bench-{number}@desk.example.com>" for number in range(count)]
    with transaction.atomic():
        for number, message_id in enumerate(ids):
            send_email_later(key=f"bench:{number}", subject=f"Your ticket SD-{number:07d}",
                             body="Hej,\n\nwe have your message and answer within a working day.\n",
                             to=[f"customer{number}@example.org"], headers={"Message-ID": message_id})
    return ids


def sweep_until_done(max_rounds: int) -> tuple[int, dict]:
    """The schedule's sweep, round after round; retries are made due at once between rounds."""
    from django.utils import timezone

    from apps.outbox import services
    from apps.outbox.models import OutboxItem

    Status = OutboxItem.Status
    outcomes: dict[str, int] = {}
    for number in range(1, max_rounds + 1):
        for outcome, count in services.deliver_due().items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
        pending = OutboxItem.objects.filter(status=Status.PENDING)
        if not pending.exists() and not OutboxItem.objects.filter(status=Status.SENDING).exists():
            return number, outcomes
        pending.update(next_attempt_at=timezone.now())
    return max_rounds, outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--mails", type=int, default=500)
    parser.add_argument("--deferred", type=float, default=0.3, help="share of messages answered 451 the first time")
    parser.add_argument("--db", choices=["postgres", "sqlite"], default="postgres")
    parser.add_argument("--database-url", default=DEFAULT_URL,
                        help="PostgreSQL database to create (dropped first) and drop at the end")
    parser.add_argument("--max-rounds", type=int, default=50)
    parser.add_argument("--write-results", type=Path)
    parser.add_argument("--smoke", action="store_true", help="a tiny run for the test suite: 40 mails")
    args = parser.parse_args()
    if args.smoke:
        args.mails = 40

    work = Path(tempfile.mkdtemp(prefix="outbox-bench-"))
    database_url = f"sqlite:///{work / 'outbox.sqlite3'}" if args.db == "sqlite" else args.database_url
    from aiosmtpd.controller import Controller

    handler = DeferringRelay(deferred_share=args.deferred)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    if args.db == "postgres":
        create_postgres(database_url)
    try:
        controller.start()
        setup_django(database_url, controller.port, work / "media")
        from apps.outbox import services
        from apps.outbox.models import OutboxItem

        services.enqueue_on_commit = lambda *job: None      # the jobs are held: the sweep delivers everything

        started = time.perf_counter()
        ids = queue_mails(args.mails)
        queued = time.perf_counter()
        rounds, outcomes = sweep_until_done(args.max_rounds)
        finished = time.perf_counter()

        statuses = {status: OutboxItem.objects.filter(status=status).count() for status in OutboxItem.Status.values}
        once = sum(1 for message_id in ids if handler.accepted.get(message_id) == 1)
        duplicates = sum(count - 1 for count in handler.accepted.values() if count > 1)
        unknown = len(set(handler.accepted) - set(ids))
        wall = finished - started
        ok = once == args.mails and duplicates == 0 and unknown == 0 and statuses["sent"] == args.mails
        line = (f"outbox: {args.mails} mails, {len(handler.deferred)} deferred (451), {once} accepted exactly once, "
                f"{duplicates} duplicates, {rounds} rounds, {wall:.2f} s wall "
                f"(queue {queued - started:.2f} s, sweep {finished - queued:.2f} s), {args.mails / wall:.1f} mails/s "
                f"[{args.db}] — {'OK' if ok else 'FAILED'}")
        print(line)
        print(f"  sweep outcomes {outcomes}; rows by status {statuses}")
        if args.write_results:
            command = shlex.join(["python", "bench/outbox_retry.py", *sys.argv[1:]])
            with args.write_results.open("a", encoding="utf-8") as out:
                out.write(f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`, {platform.machine()} "
                          f"nproc={os.cpu_count()} load1 {os.getloadavg()[0]:.1f}: {line}\n")
        return 0 if ok else 1
    finally:
        controller.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.db == "postgres":
            drop_postgres(database_url)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
