"""Console fan-out benchmark: 50 consoles open, 1,000 ticket events, commit → every console.

A real daphne serves the desk on a bench database with the Redis channel layer. A
client process opens the consoles (websockets with real session cookies of 50 agents)
and records when each event id arrives; this process writes tickets through the ticket
services and stamps each transaction's commit time (an on_commit hook registered first,
so it runs before the broadcast). Latency of an event = the last console's arrival −
commit. Both processes read the same wall clock (time.time) on one machine.

    .venv/bin/python bench/console_fanout.py [--consoles 50] [--events 1000] [--rate 100]
                                             [--database NAME] [--redis URL]
                                             [--write-results bench/RESULTS.md]

The database is made afresh (dropped first); the Redis database is emptied. ``--smoke``
is the test suite's run: 2 consoles, 10 events, a 2 s tail, and the database dropped at the end.
"""

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import shlex
import socket
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_POSTGRES", "postgres://postgres@127.0.0.1:5432")
DATABASE = "supportdesk_fanout"
REDIS = os.environ.get("BENCH_REDIS", "redis://127.0.0.1:6379/11")


def prepare_environment(database: str = DATABASE, redis_url: str = REDIS) -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{database}"')
    os.environ.update({"DATABASE_URL": f"{SERVER}/{database}", "REDIS_URL": redis_url, "DEBUG": "1",
                       "DJANGO_SETTINGS_MODULE": "supportdesk.settings", "LOG_LEVEL": "WARNING"})
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    redis.Redis.from_url(redis_url).flushdb()
    call_command("migrate", verbosity=0)


def agent_cookies(count: int) -> list[str]:
    """Session keys of `count` Swedish agents, made the way a login makes them."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    from apps.accounts.services import make_agent

    with open(os.devnull, "w") as quiet:
        call_command("seed_demo", verbosity=0, stdout=quiet)
    keys = []
    for i in range(count):
        user = get_user_model().objects.create_user(f"bench_agent_{i}")
        make_agent(user=user, languages=["sv"], channels=["chat", "email"])
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        keys.append(session.session_key)
    return keys


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_daphne(port: int) -> subprocess.Popen:
    process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port),
                                "supportdesk.asgi:application"], cwd=ROOT, env=dict(os.environ),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(150):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError("daphne did not start")


def run_consoles(ports: list[int], keys: list[str], ready, results, stop_after: float) -> None:
    """Client process: one websocket per agent; records the arrival time of every event id."""
    import aiohttp

    async def console(port: int, session_key: str, arrivals: dict):
        cookies = {"sessionid": session_key}
        async with aiohttp.ClientSession(cookies=cookies) as http, http.ws_connect(
                f"ws://127.0.0.1:{port}/ws/console/", origin=f"http://127.0.0.1:{port}",
                max_msg_size=0) as ws:
            await ws.receive_json()            # hello
            ready.put(1)
            deadline = time.monotonic() + stop_after
            while time.monotonic() < deadline:
                try:
                    message = await ws.receive(timeout=1)
                except TimeoutError:
                    continue
                if message.type != aiohttp.WSMsgType.TEXT:
                    break
                frame = json.loads(message.data)
                if frame.get("type") == "ticket.event":
                    arrivals.setdefault(frame["id"], time.time())

    async def main():
        per_console = [{} for _ in keys]
        await asyncio.gather(*(console(ports[i % len(ports)], key, arrivals)
                               for i, (key, arrivals) in enumerate(zip(keys, per_console))))
        results.put(per_console)

    asyncio.run(main())


def produce(events: int, rate: float) -> dict[int, float]:
    """Open tickets and change their status until `events` events were committed; commit times by id."""
    from django.db import transaction

    from apps.desk import actions
    from apps.tickets import services
    from apps.tickets.models import TicketEvent

    contact = services.find_or_create_contact(email="fanout@example.com", language="sv")
    commits, produced, i = {}, 0, 0
    interval = 1.0 / rate
    while produced < events:
        started = time.perf_counter()
        before = TicketEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        stamp = {}
        with transaction.atomic():
            transaction.on_commit(lambda stamp=stamp: stamp.setdefault("t", time.time()))
            if i % 2 == 0:
                actions.open_ticket(channel="email", contact=contact, subject=f"fan-out {i}", body="x",
                                     external_ref=f"fanout-{i}")
            else:
                ticket = services.Ticket.objects.get(external_ref=f"fanout-{i - 1}")
                actions.change_status(ticket=ticket, to="pending")
        for pk in TicketEvent.objects.filter(pk__gt=before).values_list("pk", flat=True):
            commits[pk] = stamp["t"]
        produced = len(commits)
        i += 1
        time.sleep(max(0.0, interval - (time.perf_counter() - started)))
    return commits


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * len(ordered) + 0.5)) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consoles", type=int, default=50)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="ticket writes per second")
    parser.add_argument("--servers", type=int, default=1, help="daphne processes sharing Redis")
    parser.add_argument("--database", default=DATABASE, help="made afresh for the run")
    parser.add_argument("--redis", default=REDIS, help="the channel layer's Redis; this database is emptied")
    parser.add_argument("--smoke", action="store_true",
                        help="a tiny run for the test suite: 2 consoles, 10 events, database dropped at the end")
    parser.add_argument("--write-results", type=Path)
    args = parser.parse_args()
    if args.smoke:
        args.consoles, args.events = 2, 10
    try:
        return run(args)
    finally:
        if args.smoke:
            drop_database(args.database)


def drop_database(database: str) -> None:
    import psycopg

    if "django" in sys.modules:
        from django.db import connections

        connections.close_all()
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def run(args) -> int:
    prepare_environment(args.database, args.redis)
    keys = agent_cookies(args.consoles)
    ports = [free_port() for _ in range(args.servers)]
    servers = [start_daphne(port) for port in ports]
    ready, results = multiprocessing.Queue(), multiprocessing.Queue()
    duration = (2 if args.smoke else 15) + args.events / args.rate
    clients = multiprocessing.Process(target=run_consoles, args=(ports, keys, ready, results, duration))
    clients.start()
    try:
        for _ in keys:
            ready.get(timeout=60)
        started = time.monotonic()
        commits = produce(args.events, args.rate)
        elapsed = time.monotonic() - started
        per_console = results.get(timeout=duration + 60)
    finally:
        clients.join(timeout=10)
        for daphne in servers:
            daphne.terminate()
            daphne.wait(timeout=10)

    from django.conf import settings
    from django.db import connection

    connection.close()
    latencies, missing = [], 0
    for event_id, committed in commits.items():
        arrivals = [console.get(event_id) for console in per_console]
        if any(a is None for a in arrivals):
            missing += sum(1 for a in arrivals if a is None)
            continue
        latencies.append((max(arrivals) - committed) * 1000)
    deliveries = len(commits) * len(per_console)
    p50, p99 = statistics.median(latencies), percentile(latencies, 0.99)
    table = (
        "| figure | value |\n|---|---|\n"
        f"| consoles / events committed | {len(per_console)} / {len(commits):,} |\n"
        f"| deliveries expected / missing | {deliveries:,} / {missing:,} |\n"
        f"| commit → last console, p50 | **{p50:.1f} ms** |\n"
        f"| commit → last console, p99 | **{p99:.1f} ms** (target < 100 ms) |\n"
        f"| max | {max(latencies):.1f} ms |\n"
    )
    print(table)
    if args.write_results:
        with args.write_results.open("a") as out:
            out.write(f"\n## Console fan-out ({datetime.now(UTC):%Y-%m-%d})\n\n")
            out.write(f"Command: `{' '.join(shlex.quote(a) for a in ['python', *sys.argv])}`  \n")
            out.write(f"Machine: {platform.machine()}, {os.cpu_count()} cores (shared, noisy); {args.servers} daphne "
                      f"process(es), consoles spread over them; {settings.CHANNEL_LAYERS['default']['BACKEND']} "
                      f"on local Redis, PostgreSQL local; {args.rate:g} ticket writes/s "
                      f"({len(commits) / elapsed:.0f} events/s). "
                      "No peer: the target is absolute.\n\n" + table)
    return 0 if missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
