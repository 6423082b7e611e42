"""SLA sweep benchmark: 1,000,000 open tickets in PostgreSQL, 1,000 of them falling due.

The sweep's cost must follow the targets that fall due, not the open tickets: it
reads the partial index on running targets' ``due_at``. This script fills a
separate database (``supportdesk_bench`` by default, kept between runs), then
times ``apps.desk.actions.sweep_sla`` several times, re-arming the same 1,000 targets
before each run, and prints the query plan it used.

    .venv/bin/python bench/sla_sweep_bench.py [--tickets 1000000] [--due 1000] [--runs 7]
                                              [--database NAME] [--redis URL] [--drop]
                                              [--write-results bench/RESULTS.md]

``--smoke`` is the test suite's run: 2,000 tickets, 50 due, 3 sweeps, on a database
dropped at the end (pass ``--database``). The notification jobs go to Redis
(``--redis``, default $BENCH_REDIS or db 14), whose database is emptied after the run.
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


def setup_django(database: str, redis_url: str) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database]).fetchone():
            conn.execute(f'CREATE DATABASE "{database}"')
    os.environ["DATABASE_URL"] = f"{SERVER}/{database}"
    # As in production, the notification job is queued on Redis (then discarded), not run in the sweep.
    os.environ["REDIS_URL"] = redis_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def insert_list(model, given: dict[str, tuple[str, list]]) -> tuple[str, str, list]:
    """Columns, SELECT expressions and parameters for a bulk ``INSERT … SELECT`` into ``model``'s table.

    The columns named in ``given`` take their expression; every other column takes the
    field's default (or NULL), so a column added to the model later does not break the
    insert. A new NOT NULL column without a default stops the script with its name.
    """
    from django.db import connection

    columns, values, params = [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in given:
            continue
        if field.column in given:
            expression, field_params = given[field.column]
        elif field.has_default():
            expression, field_params = "%s", [field.get_db_prep_save(field.get_default(), connection)]
        elif field.null:
            expression, field_params = "NULL", []
        else:
            raise SystemExit(f"{model._meta.db_table}.{field.column} is NOT NULL without a default: "
                             "say in bench/sla_sweep_bench.py what the bench rows hold there")
        columns.append(connection.ops.quote_name(field.column))
        values.append(expression)
        params += field_params
    return ", ".join(columns), ", ".join(values), params


def populate(tickets: int, due: int) -> None:
    """Insert the tickets and their two targets with SQL; skipped when already there."""
    from django.db import connection

    from apps.policy.defaults import install_default_policy
    from apps.sla.models import SlaTarget
    from apps.tickets.models import Contact, Ticket

    if Ticket.objects.count() == tickets:
        return
    regions = install_default_policy()
    contact = Contact.objects.create(name="Bench", email="bench@example.com", language="en",
                                     region=regions["us"])
    far = NOW + timedelta(days=365)
    ticket_columns = {  # column: (SQL expression over i, its parameters); every other column gets its default
        "reference": ("'SD-' || lpad(i::text, 7, '0')", []), "channel": ("'email'", []),
        "external_ref": ("'bench-' || i", []), "contact_id": ("%s", [contact.pk]), "language": ("'en'", []),
        "region_id": ("%s", [regions["us"].pk]), "subject": ("'bench'", []), "status": ("'new'", []),
        "scope": ("'untriaged'", []), "category": ("''", []), "received_at": ("%s", [NOW]),
        "created_at": ("%s", [NOW]), "updated_at": ("%s", [NOW]),
    }
    # Every ticket: an acknowledgement and a first response running far in the future,
    # except the first `due` first-response targets, which fall due before NOW.
    due_case = "CASE WHEN k.kind = 'first_response' AND id <= %s THEN %s ELSE %s END"
    target_columns = {
        "ticket_id": ("id", []), "kind": ("k.kind", []), "clock": ("'region'", []),
        "target_seconds": ("43200", []), "started_at": ("%s", [NOW]),
        "due_at": (due_case, [due, NOW - timedelta(minutes=1), far]),
        "warn_at": (due_case, [due, NOW - timedelta(minutes=2), far]),
    }
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE tickets_ticket, sla_slatarget, tickets_ticketevent RESTART IDENTITY CASCADE")
        columns, values, params = insert_list(Ticket, ticket_columns)
        cursor.execute(f"INSERT INTO tickets_ticket ({columns}) SELECT {values} "
                       "FROM generate_series(1, %s) AS i", [*params, tickets])
        columns, values, params = insert_list(SlaTarget, target_columns)
        cursor.execute(f"INSERT INTO sla_slatarget ({columns}) SELECT {values} FROM tickets_ticket "
                       "CROSS JOIN (VALUES ('acknowledge'), ('first_response')) AS k(kind)", params)
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
    parser.add_argument("--redis", default=os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/14"),
                        help="Redis for the queued notification jobs; this database is emptied after the run")
    parser.add_argument("--drop", action="store_true", help="drop the database at the end")
    parser.add_argument("--smoke", action="store_true", help="a tiny run for the test suite (implies --drop)")
    parser.add_argument("--write-results", type=Path)
    args = parser.parse_args()
    if args.smoke:
        args.tickets, args.due, args.runs, args.drop = 2_000, 50, 3, True
    try:
        return run(args)
    finally:
        if args.drop:
            drop_database(args.database)


def drop_database(database: str) -> None:
    import psycopg

    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def run(args) -> int:
    setup_django(args.database, args.redis)
    started = time.perf_counter()
    populate(args.tickets, args.due)
    print(f"data ready in {time.perf_counter() - started:.1f} s")
    from apps.desk.actions import sweep_sla
    from apps.sla.models import SlaTarget

    timings = []
    for _ in range(args.runs):
        rearm(args.due)
        t0 = time.perf_counter()
        result = sweep_sla(now=NOW)
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
    print(f"SLA sweep: median {statistics.median(timings):.1f} ms (min {min(timings):.1f}, max "
          f"{max(timings):.1f}) over {args.runs} sweeps, {args.tickets:,} open tickets, {args.due:,} due")
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
