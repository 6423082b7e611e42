#!/usr/bin/env python
"""Live mail benchmark: the corpus over SMTP into the real listener and mail worker, beside the bulk import.

    .venv/bin/python bench/mail_live.py [--messages 5000] [--senders 8] [--workers 1] [--runs 1]
        [--database sd_bench_mail_live] [--redis redis://127.0.0.1:6379/13]
        [--probe-seconds 1] [--write-results bench/RESULTS.md] [--smoke]

What it does, each run, on its own emptied PostgreSQL database:

1. Builds N messages from ../shared/corpus/email (read in place), replayed round after
   round with fresh Message-IDs: every id in Message-ID, In-Reply-To and References gets
   the round's prefix (so replies still answer their round's originals and the corpus's
   own duplicates stay duplicates) and each message an ``X-Bench-Round`` header.
2. Live: starts ``manage.py smtp_server`` and W ``manage.py worker`` processes (the
   desk's rq worker with its schedule) on Redis, files one warm-up message, then S
   threads send the N messages over S SMTP connections (smtplib), each waiting for its
   250 before the next. The envelope sender ``bench+<n>@bench.invalid`` names each
   message. A poller reads which stored messages are filed (outcome written and
   committed: a new ticket or reply visible in the API, automatic and duplicate mail
   recorded) every 50 ms. Figures: msg/s from the first send to the last message filed,
   and the latency from each 250 to the poll that first saw it filed (p50/p95/p99/max).
   Meanwhile a probe puts a no-op job on the worker's ``default`` queue (where a caller's
   steps wait) every ``--probe-seconds``: how long it waited for the worker, from its
   enqueue to its start, is how long the flood of mail holds up the other queues.
3. Bulk: the database emptied, one warm-up message, then the same N messages through
   ``apps.mail.filing.ingest_many`` (``--jobs`` = CPU count, batches of 200, as
   ``manage.py ingest_email`` runs it) in this process, wall clock.

Both store the raw bytes, parse, thread, open tickets with SLA clocks and routing and
queue and deliver receipts (to Django's in-memory backend). Targets: live ≥ 0.8× bulk
msg/s and p99 < 2 s. ``--smoke``: 80 messages, 8 senders, one run, database dropped.
Exit status 0 when every message is filed on both paths, 1 otherwise.
"""

import argparse
import contextlib
import os
import platform
import re
import shlex
import shutil
import signal
import smtplib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
import mail_ingest  # noqa: E402  (the corpus, the database set-up and the warm-up are shared)

PYTHON = sys.executable
DATABASE = "sd_bench_mail_live"
PG = os.environ.get("BENCH_POSTGRES", mail_ingest.PG)
DESK_MAILBOX = "support-eu@example.com"
_IDS_HEADER = re.compile(rb"(?im)^(message-id|in-reply-to|references):(.*(?:\r?\n[ \t].*)*)")
_ID = re.compile(rb"<([^<>\s]*@[^<>\s]*)>")


# --- the messages -----------------------------------------------------------------------

def replay(raw: bytes, round_: int) -> bytes:
    """The message as sent again in round ``round_``: fresh ids, the same threads."""
    end = re.search(rb"\r?\n\r?\n", raw)
    head, body = (raw[:end.start()], raw[end.start():]) if end else (raw, b"")
    prefix = b"<r%d." % round_
    head = _IDS_HEADER.sub(lambda m: m.group(1) + b":" + _ID.sub(lambda i: prefix + i.group(1) + b">", m.group(2)),
                           head)
    newline = b"\r\n" if b"\r\n" in raw[:4000] else b"\n"
    return b"X-Bench-Round: %d" % round_ + newline + head + body


def build_messages(count: int) -> list[bytes]:
    files = [path.read_bytes() for path in mail_ingest.corpus_files(mail_ingest.CORPUS)]
    return [replay(files[n % len(files)], n // len(files)) for n in range(count)]


def warm_up_message() -> bytes:
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "warm-up@example.org", DESK_MAILBOX, "Warm-up"
    message["Message-ID"] = f"<warm-up-{time.time_ns()}@bench.invalid>"
    message.set_content("The app crashes when I export the drawing to PDF.")
    return bytes(message)


# --- the desk's processes --------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_desk(env: dict, *, port: int, workers: int, logs: Path) -> list[subprocess.Popen]:
    def start(name: str, *command: str) -> subprocess.Popen:
        out = (logs / f"{name}.log").open("wb")
        return subprocess.Popen([PYTHON, "manage.py", *command], cwd=ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)

    processes = [start("smtp", "smtp_server", "--host", "127.0.0.1", "--port", str(port))]
    processes += [start(f"worker{n}", "worker", "--verbosity", "0") for n in range(workers)]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            time.sleep(0.2)
    else:
        raise RuntimeError(f"the SMTP listener did not start: see {logs}")
    return processes


def stop_desk(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


class FiledWatch:
    """Polls which stored messages are filed; notes when each was first seen filed (by its envelope sender)."""

    def __init__(self, interval: float = 0.05):
        self.interval = interval
        self.seen: dict[int, float] = {}
        self.processed_at: dict[int, float] = {}   # the filer's clock (time.time) as it filed, before its commit
        self.polls, self.poll_seconds = 0, 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        from django.db import connection

        from apps.mail.models import InboundEmail

        watermark = 0   # every row up to here is filed and seen
        try:
            while not self.stop.is_set():
                began = time.perf_counter()
                rows = list(InboundEmail.objects.filter(pk__gt=watermark).order_by("pk")
                            .values_list("pk", "envelope_from", "processed_at"))
                now = time.monotonic()
                for _pk, sender, processed_at in rows:
                    if processed_at is None:
                        continue
                    found = re.match(r"bench\+(\d+)@", sender)
                    if found:
                        self.seen.setdefault(int(found.group(1)), now)
                        self.processed_at.setdefault(int(found.group(1)), processed_at.timestamp())
                pending = [pk for pk, _sender, processed_at in rows if processed_at is None]
                if rows:
                    watermark = (min(pending) - 1) if pending else rows[-1][0]
                self.polls += 1
                self.poll_seconds += time.perf_counter() - began
                self.stop.wait(self.interval)
        finally:
            connection.close()


def send_all(messages: list[bytes], *, port: int, senders: int) -> tuple[dict[int, float], list[str]]:
    """Each sender thread takes the next message and waits for its 250; the time of each 250 by number."""
    accepted: dict[int, float] = {}
    accepted_wall: dict[int, float] = {}
    errors: list[str] = []
    lock = threading.Lock()
    counter = iter(range(len(messages)))

    def sender() -> None:
        client = smtplib.SMTP("127.0.0.1", port, timeout=60)
        try:
            while True:
                with lock:
                    number = next(counter, None)
                if number is None:
                    return
                try:
                    client.sendmail(f"bench+{number}@bench.invalid", [DESK_MAILBOX], messages[number])
                    accepted[number] = time.monotonic()
                    accepted_wall[number] = time.time()
                except smtplib.SMTPException as error:
                    errors.append(f"{number}: {error}")
                    if isinstance(error, smtplib.SMTPServerDisconnected):
                        client = smtplib.SMTP("127.0.0.1", port, timeout=60)
        finally:
            with contextlib.suppress(Exception):  # the listener may have gone first
                client.quit()

    threads = [threading.Thread(target=sender) for _ in range(senders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    send_all.wall = accepted_wall
    return accepted, errors


class QueueProbe:
    """Puts a no-op job on another of the worker's queues every ``interval`` seconds; reads how long each waited."""

    def __init__(self, redis_url: str, interval: float, queue: str = "default"):
        self.redis_url, self.interval, self.queue = redis_url, interval, queue
        self.job_ids: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        import redis
        from rq import Queue

        queue = Queue(self.queue, connection=redis.Redis.from_url(self.redis_url))
        while self.interval > 0:     # the first at once, so even a short run has one
            self.job_ids.append(queue.enqueue("os.getpid").id)
            if self.stop.wait(self.interval):
                return

    def waits(self) -> list[float]:
        """Seconds from each probe's enqueue to its start (probes not started by now count to now)."""
        import redis
        from rq.job import Job

        connection = redis.Redis.from_url(self.redis_url)
        now = datetime.now(UTC).replace(tzinfo=None)
        jobs = Job.fetch_many(self.job_ids, connection=connection)
        return [((job.started_at or now) - job.enqueued_at).total_seconds() for job in jobs if job is not None]


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))] if ordered else float("nan")


def run_live(messages: list[bytes], *, env: dict, senders: int, workers: int, logs: Path,
             time_limit: float, probe_seconds: float) -> dict:
    import collections

    import redis

    from apps.mail.models import InboundEmail

    redis.Redis.from_url(env["REDIS_URL"]).flushdb()
    port = free_port()
    processes = start_desk(env, port=port, workers=workers, logs=logs)
    try:
        # One message through the whole path first: the worker loads the language models and calendars once.
        warm, errors = send_all([warm_up_message()], port=port, senders=1)
        deadline = time.monotonic() + 120
        while InboundEmail.objects.filter(processed_at__isnull=True).exists() or not InboundEmail.objects.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the warm-up message was not filed: see {logs}")
            time.sleep(0.1)
        before = set(InboundEmail.objects.values_list("pk", flat=True))
        watch = FiledWatch()
        watch.thread.start()
        probe = QueueProbe(env["REDIS_URL"], probe_seconds)
        probe.thread.start()
        started = time.monotonic()
        accepted, errors = send_all(messages, port=port, senders=senders)
        sent = time.monotonic()
        deadline = sent + time_limit
        while len(set(accepted) - set(watch.seen)) and time.monotonic() < deadline:
            time.sleep(0.05)
        probe.stop.set()
        probe.thread.join()
        time.sleep(0.5)     # the last probe's turn
        probe_waits = probe.waits()
        watch.stop.set()
        watch.thread.join()
    finally:
        stop_desk(processes)
    filed = {n: at for n, at in watch.seen.items() if n in accepted}
    latencies = [filed[n] - accepted[n] for n in filed]
    wall = send_all.wall
    # Cross-check on the filer's clock: from the 250 to the moment the filer marked the message filed.
    marked = [watch.processed_at[n] - wall[n] for n in filed if n in wall and n in watch.processed_at]
    last = max(filed.values()) if filed else sent
    outcomes = collections.Counter(InboundEmail.objects.exclude(pk__in=before).values_list("outcome", flat=True))
    return {"messages": len(messages), "accepted": len(accepted), "filed": len(filed), "refused": errors,
            "send_seconds": sent - started, "wall_seconds": last - started,
            "rate": len(filed) / (last - started) if filed else 0.0,
            "p50": percentile(latencies, 0.50), "p95": percentile(latencies, 0.95),
            "p99": percentile(latencies, 0.99), "max": max(latencies, default=float("nan")),
            "mean": statistics.fmean(latencies) if latencies else float("nan"),
            "outcomes": dict(outcomes), "marked_p50": percentile(marked, 0.5),
            "marked_p99": percentile(marked, 0.99),
            "poll_ms": 1000 * watch.poll_seconds / max(1, watch.polls), "polls": watch.polls,
            "probe_waits": probe_waits}


def run_bulk(messages: list[bytes], *, jobs: int) -> dict:
    import collections

    from django.core import mail
    from django.core.mail.backends.locmem import EmailBackend

    from apps.mail import filing
    from apps.mail.models import InboundEmail

    mail_ingest.warm_up(warm_up_message())   # empties the database after
    EmailBackend()
    started = time.perf_counter()
    results = list(filing.ingest_many(iter(messages), source=InboundEmail.Source.FILE, jobs=jobs, batch_size=200))
    wall = time.perf_counter() - started
    del mail.outbox[:]
    outcomes = collections.Counter(InboundEmail.objects.values_list("outcome", flat=True))
    return {"messages": len(messages), "filed": sum(isinstance(r, InboundEmail) for r in results),
            "wall_seconds": wall, "rate": len(messages) / wall, "outcomes": dict(outcomes), "jobs": jobs}


def setup_django(media: Path, *, database: str) -> None:
    """As ``mail_ingest.setup_django``, but an existing database is kept and emptied, not dropped.

    DROP DATABASE waits for every backend of the server to absorb a barrier; on a shared
    server one stuck client (a COPY waiting on its peer) holds it for as long as it lasts.
    """
    import psycopg

    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"')
    os.environ.update({"DATABASE_URL": f"{PG}/{database}", "DEBUG": "0", "SECRET_KEY": "bench-only",
                       "LOG_LEVEL": "CRITICAL", "MEDIA_ROOT": str(media),
                       "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
                       "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"})
    os.environ.pop("REDIS_URL", None)  # the bulk import runs its jobs in process, inside the measured time
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    mail_ingest.reset_database()


def one_run(args, messages: list[bytes], work: Path, number: int) -> dict:
    from django.core.management import call_command

    logs = work / f"run{number}"
    logs.mkdir()
    mail_ingest.reset_database()
    env = {**os.environ, "DATABASE_URL": f"{PG}/{args.database}", "REDIS_URL": args.redis, "DEBUG": "0",
           "DEMO": "0", "LOG_LEVEL": "WARNING", "RQ_LOG_LEVEL": "WARNING", "MEDIA_ROOT": str(work / "media"),
           "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend", "SECRET_KEY": "bench-only",
           "DJANGO_SETTINGS_MODULE": "supportdesk.settings"}
    live = run_live(messages, env=env, senders=args.senders, workers=args.workers, logs=logs,
                    time_limit=args.time_limit, probe_seconds=args.probe_seconds)
    call_command("flush", interactive=False, verbosity=0)
    bulk = run_bulk(messages, jobs=args.jobs)
    return {"live": live, "bulk": bulk, "load1": os.getloadavg()[0]}


def line_of(run: dict) -> str:
    live, bulk = run["live"], run["bulk"]
    ratio = live["rate"] / bulk["rate"] if bulk["rate"] else 0.0
    return (f"mail live: {live['filed']}/{live['messages']} filed ({len(live['refused'])} refused) at "
            f"{live['rate']:.1f} msg/s, bulk {bulk['rate']:.1f} msg/s, ratio {ratio:.2f}×; 250→filed p50 "
            f"{live['p50']:.2f} s, p95 {live['p95']:.2f} s, p99 {live['p99']:.2f} s, max {live['max']:.2f} s "
            f"(load1 {run['load1']:.1f}); filer's own mark p50 {live['marked_p50']:.2f} s, p99 "
            f"{live['marked_p99']:.2f} s; {live['polls']} polls of {live['poll_ms']:.1f} ms; sending took "
            f"{live['send_seconds']:.1f} s; {probe_line(live['probe_waits'])}")


def probe_line(waits: list[float]) -> str:
    if not waits:
        return "no probe of the other queues"
    return (f"a job on another queue waited p50 {percentile(waits, 0.5):.2f} s, max {max(waits):.2f} s "
            f"({len(waits)} probes)")


def report(args, runs: list[dict]) -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    command = shlex.join([".venv/bin/python", "bench/mail_live.py", *sys.argv[1:]])
    ratios = [r["live"]["rate"] / r["bulk"]["rate"] for r in runs]
    p99s = [r["live"]["p99"] for r in runs]

    def span(values, fmt):
        return fmt.format(min(values)) if len(values) == 1 else f"{fmt.format(min(values))}–{fmt.format(max(values))}"

    met_rate, met_p99 = min(ratios) >= 0.8, max(p99s) < 2.0
    lines = [
        f"## Live mail: SMTP into the listener and the mail worker, beside the bulk import — {now}",
        "",
        f"- command: `{command}`",
        f"- machine: {platform.platform()}, {platform.machine()}, nproc={os.cpu_count()} (shared, noisy), "
        f"Python {platform.python_version()}, PostgreSQL and Redis on 127.0.0.1 (same cores)",
        f"- versions: {mail_ingest.versions()}",
        f"- {args.messages} messages: ../shared/corpus/email replayed with fresh Message-IDs; live over "
        f"{args.senders} SMTP connections (smtplib) into `manage.py smtp_server` + {args.workers} "
        f"`manage.py worker`; bulk through `ingest_many` (--jobs {runs[0]['bulk']['jobs']}, batches of 200) "
        "in the bench process; both on the database `" + args.database + "`, receipts to the in-memory backend",
        f"- {len(runs)} run(s); filed = outcome committed, seen by a 50 ms poll",
        "",
        "| run | live msg/s | bulk msg/s | live/bulk | p50 s | p95 s | p99 s | max s | filed | refused | load1 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for number, run in enumerate(runs, start=1):
        live, bulk = run["live"], run["bulk"]
        lines.append(f"| {number} | {live['rate']:.1f} | {bulk['rate']:.1f} | {live['rate'] / bulk['rate']:.2f}× | "
                     f"{live['p50']:.2f} | {live['p95']:.2f} | {live['p99']:.2f} | {live['max']:.2f} | "
                     f"{live['filed']}/{live['messages']} | {len(live['refused'])} | {run['load1']:.1f} |")
    lines += [
        "",
        f"- live/bulk {span(ratios, '{:.2f}×')}: target ≥ 0.8× {'met' if met_rate else 'NOT met'}; "
        f"p99 {span(p99s, '{:.2f} s')}: target < 2 s {'met' if met_p99 else 'NOT met'}",
        f"- outcomes, live (last run): {runs[-1]['live']['outcomes']}",
        f"- outcomes, bulk (last run): {runs[-1]['bulk']['outcomes']}",
        f"- seconds to send everything (last run): {runs[-1]['live']['send_seconds']:.1f}; "
        f"refused: {runs[-1]['live']['refused'][:3]}",
        f"- the other queues (a no-op job on `default` every {args.probe_seconds:g} s during the live run), "
        "by run: " + "; ".join(probe_line(run["live"]["probe_waits"]) for run in runs),
        "",
    ]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--senders", type=int, default=8)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--runs", type=int, default=1)
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1, help="parse processes of the bulk import")
    parser.add_argument("--database", default=DATABASE)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13"))
    parser.add_argument("--time-limit", type=float, default=300, help="seconds to wait for filing after the last 250")
    parser.add_argument("--probe-seconds", type=float, default=1.0,
                        help="a no-op job on the worker's default queue this often during the live run (0: none)")
    parser.add_argument("--write-results", type=Path)
    parser.add_argument("--smoke", action="store_true", help="the suite's run: 80 messages, one run")
    args = parser.parse_args()
    if args.smoke:
        args.messages, args.runs, args.time_limit, args.probe_seconds = 80, 1, 60, min(args.probe_seconds, 0.2)
    work = Path(tempfile.mkdtemp(prefix="mail-live-"))
    setup_django(work / "media", database=args.database)
    messages = build_messages(args.messages)
    runs = []
    try:
        for number in range(1, args.runs + 1):
            runs.append(one_run(args, messages, work, number))
            print(line_of(runs[-1]), flush=True)
            for refused in runs[-1]["live"]["refused"][:3]:
                print(f"  refused {refused}", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if args.smoke:
            mail_ingest.drop_database(args.database)
    if args.write_results:
        with args.write_results.open("a", encoding="utf-8") as out:
            out.write("\n" + report(args, runs))
    ok = all(r["live"]["filed"] == r["live"]["messages"] and r["bulk"]["filed"] == r["bulk"]["messages"]
             for r in runs)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
