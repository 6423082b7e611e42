"""Jira forwarding proof: N extension tickets forwarded by W desk workers into a local Jira stand-in.

What it does, as production does it:

1. Starts the Jira stand-in (``python -m apps.jira_sync.tests.standin``, a Jira Cloud
   look-alike over HTTP) in its own process, optionally failing a seeded share of the
   issue requests (500, 503 + Retry-After, 429, and creates whose answer is lost).
2. Makes a PostgreSQL database, configures an owner's Jira connection with
   ``configure_jira``, opens N tickets and triages each to the owner's extension: every
   triage writes its ``jira.forward`` outbox row and queues its rq job on Redis.
3. Starts W ``manage.py worker --burst`` processes (the desk's non-forking worker, one
   Jira client per process) and times them until the queue is drained. Rows that met a
   failure wait for their retry; W sweeper processes (the schedule's ``outbox-deliver``
   job, run in a loop) deliver them until no row is pending.
4. Counts what the stand-in holds: issues, issues per ``supportdesk-<REF>`` label
   (duplicates), tickets without an issue (lost).

The baseline, in the same run against the same stand-in: the bare ``jira`` library making
the same three requests per issue (create, read attachments, add the link back) from W
processes with one client each, with no desk around it. The ratio is desk ÷ bare.

    .venv/bin/python bench/jira_forward.py [--forwards 1000] [--workers 1 4] [--fail-ratio 0.0]
        [--database-url postgres://…/sd_bench_jira] [--redis redis://127.0.0.1:6379/12]
        [--write-results bench/RESULTS.md] [--smoke]

``--smoke``: the suite's run, 40 forwards with 30 % failures and 2 workers. Exit status 0
when every ticket has exactly one issue and every row is sent, 1 otherwise.
"""

import argparse
import io
import json
import os
import platform
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sd_bench_jira")
FAIL_STATUSES = "500,503,429,lost"


def server_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def recreate_postgres(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    maintenance, name = server_url(url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


class StandIn:
    """The stand-in in its own process (so its work does not share a core's GIL with the desk's)."""

    def __init__(self, *, fail_ratio: float, seed: int):
        command = [PYTHON, "-m", "apps.jira_sync.tests.standin", "--deployment", "Cloud", "--seed", str(seed)]
        if fail_ratio:
            command += ["--fail-ratio", str(fail_ratio), "--fail-statuses", FAIL_STATUSES]
        self.process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        self.url = self.process.stdout.readline().strip()
        if not self.url.startswith("http"):
            raise SystemExit(f"the stand-in did not start: {self.url!r}")

    def stop(self) -> dict:
        self.process.terminate()
        out, _err = self.process.communicate(timeout=30)
        lines = [line for line in out.splitlines() if line.startswith("{")]
        return json.loads(lines[-1]) if lines else {}


def environment(database_url: str, redis_url: str, media: Path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "DEBUG": "0",
            "SECRET_KEY": "bench-only", "FIELD_ENCRYPTION_KEY": "bench-only", "LOG_LEVEL": "CRITICAL",
            "MEDIA_ROOT": str(media), "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",   # the users' notices
            # The first retry after 1 s and backoff capped at 8 s, so a run ends in minutes, not hours.
            "JIRA_RETRY_BASE_SECONDS": "1", "OUTBOX_RETRY_MAX_SECONDS": "8",
            "JIRA_TIMEOUT_SECONDS": "10", "PYTHONUNBUFFERED": "1"}


def setup_django(env: dict[str, str]) -> None:
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def seed(standin_url: str, forwards: int) -> list[str]:
    """An owner with a Jira connection, and N triaged tickets whose forwards wait in the outbox and on Redis."""
    from django.core.management import call_command

    from apps.desk import actions
    from apps.owners.models import Extension, ExtensionOwner
    from apps.policy.defaults import install_default_policy
    from apps.routing.models import Queue
    from apps.tickets.models import Contact
    from apps.tickets.services import Actor, NewTicket

    region = install_default_policy()["europe"]
    for kind in Queue.Kind.values:
        Queue.objects.get_or_create(language="sv", kind=kind, defaults={"name": f"sv {kind}"})
    owner = ExtensionOwner.objects.create(name="Bench Plugins", slug="bench")
    extension = Extension.objects.create(name="Bench Charts", slug="bench-charts", owner=owner)
    call_command("configure_jira", "bench", "--url", standin_url, "--project", "SUP", "--email", "desk@example.org",
                 "--api-token", "t", "--webhook-secret", "s", stdout=io.StringIO())
    contact = Contact.objects.create(name="Bench User", email="bench@example.org", language="sv", region=region)
    opened = actions.open_tickets([NewTicket(channel="email", contact=contact, subject=f"Chart {number} is empty",
                                             body="The chart is empty after the update.", external_ref=f"b{number}")
                                   for number in range(forwards)])
    for result in opened:
        actions.triage_ticket(ticket=result.ticket, scope="extension", category="bug", extension=extension,
                              actor=Actor(label="bench"))
    return [result.ticket.reference for result in opened]


SWEEPER = """
import os, sys, time
sys.path.insert(0, {root!r})
import django; django.setup()
from apps.outbox import services
from apps.outbox.models import OutboxItem
busy = OutboxItem.objects.filter(kind="jira.forward", status__in=["pending", "sending"])
deadline = time.monotonic() + {limit}
while busy.exists() and time.monotonic() < deadline:
    if not services.deliver_due(limit=20):
        time.sleep(0.2)
"""


def run_desk(env: dict[str, str], workers: int, limit: float) -> tuple[float, float]:
    """W burst workers drain the queue; then W sweepers deliver the retries. Seconds for each part."""
    started = time.perf_counter()
    burst = [subprocess.Popen([PYTHON, "manage.py", "worker", "--burst", "--verbosity", "0"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    for process in burst:
        process.wait(timeout=limit)
    drained = time.perf_counter()
    if not waiting(env["DATABASE_URL"]):
        return drained - started, 0.0
    code = SWEEPER.format(root=str(ROOT), limit=limit)
    sweepers = [subprocess.Popen([PYTHON, "-c", code], cwd=ROOT, env=env) for _ in range(workers)]
    for process in sweepers:
        process.wait(timeout=limit + 30)
    return drained - started, time.perf_counter() - drained


def waiting(database_url: str) -> int:
    """Forwards still pending or being sent (read straight from the database)."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        return conn.execute("SELECT count(*) FROM outbox_outboxitem WHERE kind = 'jira.forward' "
                            "AND status IN ('pending', 'sending')").fetchone()[0]


def delivery_window(database_url: str) -> float:
    """Seconds from the first forward delivered to the last: the workers' pace, without their start-up."""
    import psycopg

    with psycopg.connect(database_url) as conn:
        first, last = conn.execute("SELECT min(sent_at), max(sent_at) FROM outbox_outboxitem "
                                   "WHERE kind = 'jira.forward'").fetchone()
    return (last - first).total_seconds() if first and last else 0.0


BARE = """
import sys, time
from jira import JIRA
url, start, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = JIRA(server=url, basic_auth=("desk@example.org", "t"), max_retries=0, timeout=10)
began = time.time()
for number in range(start, start + count):
    key = client.create_issue(fields={{"project": {{"key": "SUP"}}, "issuetype": {{"name": "Task"}},
        "summary": f"bare {{number}}", "description": "The chart is empty after the update.",
        "labels": [f"bare-{{number}}"]}}, prefetch=False).key
    client.issue(key, fields="attachment")
    client.add_simple_link(key, {{"url": f"http://desk.example/{{number}}", "title": "desk"}})
print(began, time.time())
"""


def run_bare(url: str, forwards: int, workers: int) -> float:
    """Seconds from the first process's first issue to the last one's end (start-up left out, as for the desk)."""
    share = -(-forwards // workers)
    processes = [subprocess.Popen([PYTHON, "-c", BARE.format(), url, str(n * share),
                                   str(min(share, forwards - n * share))], stdout=subprocess.PIPE, text=True)
                 for n in range(workers) if n * share < forwards]
    spans = []
    for process in processes:
        out, _err = process.communicate(timeout=600)
        if process.returncode != 0:
            raise SystemExit("the bare jira client failed")
        spans.append([float(value) for value in out.split()])
    return max(end for _begin, end in spans) - min(begin for begin, _end in spans)


def count_issues(url: str, references: list[str]) -> dict:
    from jira import JIRA

    client = JIRA(server=url, basic_auth=("desk@example.org", "t"), max_retries=0, timeout=30)
    labels: Counter = Counter()
    for issue in client.search_issues("project = SUP", maxResults=False, fields="labels"):
        labels.update(label for label in issue.fields.labels if label.startswith("supportdesk-"))
    wanted = {f"supportdesk-{reference}" for reference in references}
    return {"issues": sum(labels.values()), "duplicates": sum(n - 1 for n in labels.values() if n > 1),
            "lost": len(wanted - set(labels)), "strangers": len(set(labels) - wanted)}


def one_run(args, workers: int, redis_url: str, work: Path) -> tuple[bool, str]:
    import redis

    database_url = args.database_url
    recreate_postgres(database_url)
    redis.Redis.from_url(redis_url).flushdb()
    standin = StandIn(fail_ratio=args.fail_ratio, seed=args.seed)
    try:
        env = environment(database_url, redis_url, work / "media")
        seed_env = dict(env)
        code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); sys.argv = ['seed'];"
                f"from bench.jira_forward import setup_django, seed;"
                f"import json, os; setup_django(dict(os.environ));"
                f"print(json.dumps(seed({standin.url!r}, {args.forwards})))")
        seeded = subprocess.run([PYTHON, "-c", code], cwd=ROOT, env=seed_env, capture_output=True, text=True,
                                timeout=600)
        if seeded.returncode != 0:
            raise SystemExit(f"seeding failed:\n{seeded.stderr[-3000:]}")
        references = json.loads(seeded.stdout.strip().splitlines()[-1])
        drain, retries = run_desk(env, workers, args.time_limit)
        window = delivery_window(database_url)
        counted = count_issues(standin.url, references)
        rows = subprocess.run([PYTHON, "-c", (
            f"import sys, json; sys.path.insert(0, {str(ROOT)!r}); import django; django.setup();"
            "from django.db.models import Count; from apps.outbox.models import OutboxItem;"
            "print(json.dumps(dict(OutboxItem.objects.filter(kind='jira.forward').values_list('status')"
            ".annotate(n=Count('pk')).values_list('status', 'n'))))")],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        statuses = json.loads(rows.stdout.strip().splitlines()[-1])
        bare = run_bare(standin.url, args.forwards, workers) if not args.fail_ratio else None
    finally:
        served = standin.stop()
        recreate_postgres(database_url, drop_only=True)
    total = drain + retries
    ok = (counted["issues"] == args.forwards and counted["duplicates"] == 0 and counted["lost"] == 0
          and statuses.get("sent") == args.forwards)
    rate = (args.forwards - 1) / window if window else 0.0
    line = (f"jira forward: {args.forwards} forwards, {workers} worker(s), fail ratio {args.fail_ratio:.0%}: "
            f"{counted['issues']} issues, {counted['duplicates']} duplicates, {counted['lost']} lost; "
            f"{rate:.1f} issues/s (first to last delivered, {window:.2f} s); wall with worker start-up "
            f"{total:.2f} s ({drain:.2f} s queue drain + {retries:.2f} s retries)")
    if bare is not None:
        line += f"; bare jira client {args.forwards / bare:.1f} issues/s, ratio {rate / (args.forwards / bare):.2f}"
    line += f"; create calls {served.get('create_calls')}; outbox {statuses} — {'OK' if ok else 'FAILED'}"
    return ok, line


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--forwards", type=int, default=1000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--fail-ratio", type=float, default=0.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"))
    parser.add_argument("--time-limit", type=float, default=600, help="seconds a run may take before it is stopped")
    parser.add_argument("--write-results", type=Path)
    parser.add_argument("--smoke", action="store_true", help="the suite's run: 40 forwards, 30 %% failures, 2 workers")
    args = parser.parse_args()
    if args.smoke:
        args.forwards, args.workers, args.fail_ratio, args.time_limit = 40, [2], 0.3, 120
    work = Path(tempfile.mkdtemp(prefix="jira-bench-"))
    all_ok = True
    try:
        for workers in args.workers:
            ok, line = one_run(args, workers, args.redis, work)
            all_ok &= ok
            print(line, flush=True)
            if args.write_results:
                command = shlex.join(["python", "bench/jira_forward.py", *sys.argv[1:]])
                with args.write_results.open("a", encoding="utf-8") as out:
                    out.write(f"- {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, `{command}`, {platform.machine()} "
                              f"nproc={os.cpu_count()} load1 {os.getloadavg()[0]:.1f}: {line}\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if all_ok else 1


if __name__ == "__main__":
    sys.exit(main())
