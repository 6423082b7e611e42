"""SLA sweep benchmark: 1,000,000 open tickets in PostgreSQL, 1,000 of them falling due.

The sweep's cost must follow the targets that fall due, not the open tickets: it
reads the partial index on running targets' ``due_at``. This script fills a
separate database (``supportdesk_bench`` by default, kept between runs), then
times ``apps.sla.services.sweep`` several times, re-arming the same 1,000 targets
before each run, and prints the query plan it used.

    .venv/bin/python bench/sla_sweep_bench.py [--tickets 1000000] [--due 1000] [--runs 7]
                                              [--write-results bench/RESULTS.md]
"""

import argparse
import os
import platform
import shlex
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)


def setup_django(database: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = f"{SERVER}/{database}"
    # As in production, the notification job is queued on Redis (then discarded), not run in the sweep.
    os.environ["REDIS_URL"] = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def populate(tickets: int, due: int) -> None:
    """Insert the tickets and their two targets with SQL; skipped when already there."""
    from django.db import connection

    from apps.policy.defaults import install_default_policy
    from apps.tickets.models import Contact, Ticket

    if Ticket.objects.count() == tickets:
        return
    regions = install_default_policy()
    contact = Contact.objects.create(name="Bench", email="bench@example.com", language="en",
                                     region=regions["us"])
    far = NOW + timedelta(days=365)
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tickets_ticket, sla_slatarget, tickets_ticketevent RESTART IDENTITY CASCADE")
        cursor.execute("""
            INSERT INTO tickets_ticket (reference, channel, external_ref, contact_id, language, region_id,
                subject, status, scope, category, received_at, created_at, updated_at)
            SELECT 'SD-' || lpad(i::text, 7, '0'), 'email', 'bench-' || i, %s, 'en', %s, 'bench', 'new',
                   'untriaged', '', %s, %s, %s
            FROM generate_series(1, %s) AS i""", [contact.pk, regions["us"].pk, NOW, NOW, NOW, tickets])
        # Every ticket: an acknowledgement and a first response running far in the future,
        # except the first `due` first-response targets, which fall due before NOW.
        cursor.execute("""
            INSERT INTO sla_slatarget (ticket_id, kind, clock, target_seconds, started_at, due_at, warn_at)
            SELECT id, k.kind, 'region', 43200, %s,
                   CASE WHEN k.kind = 'first_response' AND id <= %s THEN %s ELSE %s END,
                   CASE WHEN k.kind = 'first_response' AND id <= %s THEN %s ELSE %s END
            FROM tickets_ticket CROSS JOIN (VALUES ('acknowledge'), ('first_response')) AS k(kind)""",
                       [NOW, due, NOW - timedelta(minutes=1), far, due, NOW - timedelta(minutes=2), far])
        cursor.execute("VACUUM ANALYZE tickets_ticket")
        cursor.execute("VACUUM ANALYZE sla_slatarget")


def rearm(due: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("UPDATE sla_slatarget SET breached_at = NULL, warned_at = NULL "
                       "WHERE kind = 'first_response' AND ticket_id <= %s", [due])
        cursor.execute("DELETE FROM tickets_ticketevent WHERE kind = 'sla'")


def plan() -> str:
    from django.db import connection

    from apps.sla.services import running_targets

    query = running_targets().filter(due_at__lte=NOW).values_list("pk")[:10000]
    sql, params = query.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return "\n".join(row[0] for row in cursor.fetchall())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--database", default="supportdesk_bench")
    parser.add_argument("--write-results", type=Path)
    args = parser.parse_args()

    setup_django(args.database)
    started = time.perf_counter()
    populate(args.tickets, args.due)
    print(f"data ready in {time.perf_counter() - started:.1f} s")
    from apps.sla.models import SlaTarget
    from apps.sla.services import sweep

    timings = []
    for _ in range(args.runs):
        rearm(args.due)
        t0 = time.perf_counter()
        result = sweep(now=NOW)
        timings.append((time.perf_counter() - t0) * 1000)
        assert len(result.breached) == args.due, len(result.breached)
    import django_rq

    django_rq.get_connection("sla").flushdb()
    running = SlaTarget.objects.filter(met_at__isnull=True).count()
    query_plan = plan()
    table = (
        "| figure | value |\n|---|---|\n"
        f"| open tickets / running targets | {args.tickets:,} / {running:,} |\n"
        f"| targets falling due per sweep | {args.due:,} (all marked breached, events logged, notification queued) |\n"
        f"| sweep time, median of {args.runs} | **{statistics.median(timings):.1f} ms** |\n"
        f"| sweep time, min / max | {min(timings):.1f} / {max(timings):.1f} ms |\n"
        f"| target | < 200 ms |\n"
    )
    print(table)
    print(query_plan)
    if args.write_results:
        with args.write_results.open("a") as out:
            out.write(f"\n## SLA sweep over {args.tickets:,} open tickets ({datetime.now(UTC):%Y-%m-%d})\n\n")
            out.write(f"Command: `{' '.join(shlex.quote(a) for a in [sys.executable.split('/')[-1], *sys.argv])}`  \n")
            out.write(f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared, noisy), "
                      f"PostgreSQL local, Python {platform.python_version()}. No peer: the target is absolute.\n\n")
            out.write(table + "\nPlan of the claiming query:\n\n```\n" + query_plan + "\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
