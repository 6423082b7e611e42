"""Live chat latency: N concurrent conversations through the real desk, beside a bare relay.

Every message goes through production's path: the visitor's socket ``/ws/chat/<id>/``
(token auth, validation, rate limits), the chat writer storing it in PostgreSQL with
its sequence number, the channel layer, and the agent's console socket ``/ws/console/``
(session cookie) — and back the same way for the agent's ``chat.send`` frames. Each
side sends ``--msgs`` messages at ~1 msg/s (random phase per conversation, absolute
schedule, so no drift). Latency = receive time on the other side − send time, both
taken in this process (CLOCK_MONOTONIC, on uvloop), as in /work/shared/bench/chat/loadgen.py
(run with its ``--uvloop``).
The bare ``websockets`` relay (/work/shared/bench/chat/relay.py, run with that
loadgen.py, both used in place) is measured in the same run: the physical limit.

Setups: ``daphne1`` (one daphne), ``daphne2`` (two daphne processes sharing Redis;
every visitor on the first and every agent on the second, so each message crosses
processes through Redis); a ``-uvloop`` suffix runs daphne on uvloop
(``bench/daphne_uvloop.py``); ``uvicorn1``/``uvicorn2`` run the same application on
uvicorn (uvloop, websockets) for comparison. ``--layers pubsub,core`` measures both layers.

Conversations are opened, taken by their agent and greeted (the agent's first answer,
which stops the 1 min clock) through the services before the sockets connect; the
measured messages after that are the steady state of a live chat. Lost = sent but not
received within ``--grace`` seconds; every stored row is counted in PostgreSQL after.

Usage (a private PostgreSQL database and a private redis-server are created):
    .venv/bin/python bench/chat_latency.py --ns 50,200,500 --setups relay,daphne1,daphne2 \\
        --write-results bench/RESULTS.md

``--smoke`` is the test suite's run: 2 conversations, 3 messages each way 0.2 s apart,
the relay and one daphne, no waiting for a quiet machine, nothing appended to ``--out``.
"""

import argparse
import asyncio
import contextlib
import gc
import importlib.util
import json
import os
import platform
import random
import resource
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("CHAT_BENCH_SHARED", "/work/shared/bench/chat"))
PAD = "x" * 60
PG = "postgres://postgres@127.0.0.1:5432"


def load_pct():
    spec = importlib.util.spec_from_file_location("loadgen", SHARED / "loadgen.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.pct


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process on {port} exited with {process.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# --------------------------------------------------------------------------- environment

class Environment:
    """A private database and redis-server for the run, and Django set up on them."""

    def __init__(self, args):
        self.args = args
        self.database = f"{PG}/{args.database}"
        self.redis_port = free_port()
        self.redis_url = f"redis://127.0.0.1:{self.redis_port}/0"
        self.redis = None

    def env(self, **extra) -> dict:
        return {**os.environ, "DATABASE_URL": self.database, "REDIS_URL": self.redis_url, "DEBUG": "0",
                "SECRET_KEY": "bench-secret-key-not-for-production", "ALLOWED_HOSTS": "127.0.0.1,localhost",
                "LOG_LEVEL": "WARNING", "CHAT_IP_MESSAGES_PER_MINUTE": "10000000",
                "CHAT_IP_CONVERSATIONS_PER_HOUR": "100000", "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
                **extra}

    def __enter__(self):
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c",
                        f"DROP DATABASE IF EXISTS {self.args.database}"], check=True)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c",
                        f"CREATE DATABASE {self.args.database}"], check=True)
        self.redis = subprocess.Popen([shutil.which("redis-server"), "--bind", "127.0.0.1", "--port",
                                       str(self.redis_port), "--save", "", "--appendonly", "no"],
                                      stdout=subprocess.DEVNULL)
        wait_port(self.redis_port, self.redis)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=self.env(), check=True)
        os.environ.update(self.env())      # this process's Django uses the same database and Redis
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from apps.policy.defaults import install_default_policy
        from apps.routing.models import Queue

        install_default_policy()
        for language in ("sv",):
            for kind in Queue.Kind.values:
                Queue.objects.get_or_create(language=language, kind=kind, defaults={"name": f"{language} {kind}"})
        return self

    def __exit__(self, *exc):
        if self.redis:
            stop(self.redis)
        from django.db import connections

        connections.close_all()
        if not self.args.keep_database:
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-q", "-c",
                            f"DROP DATABASE IF EXISTS {self.args.database}"], check=False)


def prepare_conversations(n: int, tag: str) -> list[dict]:
    """N agents with a session each, N conversations taken by them and greeted (the first response)."""
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from apps.accounts.services import make_agent
    from apps.chat import services
    from apps.chat.tokens import visitor_token
    from apps.desk.actions import take_ticket

    User = get_user_model()
    pairs = []
    for i in range(n):
        user, created = User.objects.get_or_create(username=f"bench_agent_{i}", defaults={"first_name": f"Agent {i}"})
        if created:
            user.set_unusable_password()
            user.save()
            make_agent(user=user, languages=["sv"], channels=["chat"])
        session = SessionStore()
        session.update({SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: "django.contrib.auth.backends.ModelBackend",
                        HASH_SESSION_KEY: user.get_session_auth_hash()})
        session.create()
        conversation = services.start_conversation(
            language="sv", name=f"Visitor {i}", email=f"visitor{i}@example.com", entry_point="widget-europe",
            check_availability=False)
        take_ticket(ticket=conversation.ticket, user=user)
        greeting = services.store_message(services.Outgoing(
            conversation_id=str(conversation.pk), sender="agent", body="Hej! Hur kan jag hjälpa dig?",
            client_id=f"{tag}-greet", user_id=user.pk))
        assert isinstance(greeting, services.Stored), greeting
        pairs.append({"i": i, "conversation": str(conversation.pk), "token": visitor_token(conversation.pk),
                      "ticket": conversation.ticket.reference, "session": session.session_key})
    return pairs


def stored_counts(pairs: list[dict]) -> dict:
    from django.db.models import Count, Max

    from apps.chat.models import Entry

    rows = (Entry.objects.filter(conversation_id__in=[p["conversation"] for p in pairs])
            .values("conversation_id").annotate(n=Count("pk"), top=Max("seq")))
    total = sum(r["n"] for r in rows)
    gaps = sum(1 for r in rows if r["top"] != r["n"])
    return {"stored": total, "conversations_with_gaps": gaps}


# --------------------------------------------------------------------------- load client

def postgres_activity(database: str) -> dict:
    """What PostgreSQL did besides answering: WAL written, checkpoint writes, autovacuum and
    autoanalyze runs on this database's tables (the diagnostics of a slow run)."""
    import psycopg

    with psycopg.connect(f"{PG}/{database}", autocommit=True) as connection:
        lsn, checkpoint_buffers, checkpoints = connection.execute(
            "SELECT pg_current_wal_lsn() - '0/0'::pg_lsn, buffers_checkpoint, checkpoints_timed + checkpoints_req "
            "FROM pg_stat_bgwriter").fetchone()
        vacuums, analyzes = connection.execute(
            "SELECT coalesce(sum(autovacuum_count), 0), coalesce(sum(autoanalyze_count), 0) "
            "FROM pg_stat_user_tables").fetchone()
    return {"wal_bytes": int(lsn), "checkpoint_buffers": checkpoint_buffers, "checkpoints": checkpoints,
            "autovacuums": int(vacuums), "autoanalyzes": int(analyzes)}


def cpu_of(processes) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except Exception:
            pass
    return total


async def run_desk_load(pairs, visitor_port, agent_port, args, pids, pct):
    import psutil
    from websockets.asyncio.client import connect

    semaphore = asyncio.Semaphore(50)
    lat_va, lat_av = [], []
    seen_va, seen_av = set(), set()
    dupes = {"va": 0, "av": 0}
    errors = {"connect": 0, "send": 0, "error_frames": 0}
    expected = len(pairs) * args.msgs
    done = asyncio.Event()

    async def open_ws(path, cookie=None):
        async with semaphore:
            for _attempt in range(3):
                try:
                    headers = {"Cookie": f"sessionid={cookie}"} if cookie else None
                    return await asyncio.wait_for(connect(
                        path, compression=None, ping_interval=None, open_timeout=30, max_queue=None,
                        additional_headers=headers, origin="http://127.0.0.1"), 35)
                except Exception:
                    errors["connect"] += 1
                    await asyncio.sleep(0.3)
        return None

    warmed = {"va": 0, "av": 0}
    warm = asyncio.Event()
    by_second = {"va": {}, "av": {}}    # second of the run → latencies (where a slow stretch sits)

    def warmed_up(kind):
        warmed[kind] += 1
        if warmed["va"] >= len(live) and warmed["av"] >= len(live):
            warm.set()

    def record(kind, body, now):
        conv, k, sent_ns, _pad = body.split(":", 3)
        key = (conv, k)
        seen, lat = (seen_va, lat_va) if kind == "va" else (seen_av, lat_av)
        if key in seen:
            dupes[kind] += 1
            return
        seen.add(key)
        lat.append(now - int(sent_ns))
        by_second[kind].setdefault(int((int(sent_ns) - t0_ns) // 1e9), []).append(lat[-1])
        if len(seen_va) >= expected and len(seen_av) >= expected:
            done.set()

    # The sender's acknowledgements are half of what this process reads; left unparsed, they cost
    # it less CPU, so its own lag counts less towards the latencies it measures.
    async def agent_reader(ws):
        try:
            async for raw in ws:
                now = time.monotonic_ns()
                if raw.startswith('{"type": "chat.ack"'):
                    continue
                frame = json.loads(raw)
                if frame.get("type") == "chat.message" and frame.get("from") == "visitor":
                    if frame["body"].startswith("c"):
                        record("va", frame["body"], now)
                    elif frame["body"] == "warm-up":
                        warmed_up("va")
                elif frame.get("type") == "error":
                    errors["error_frames"] += 1
        except Exception:
            pass

    async def visitor_reader(ws):
        try:
            async for raw in ws:
                now = time.monotonic_ns()
                if raw.startswith('{"type": "ack"'):
                    continue
                frame = json.loads(raw)
                if frame.get("type") == "message" and frame.get("from") == "agent":
                    if frame["body"].startswith("c"):
                        record("av", frame["body"], now)
                    elif frame["body"] == "warm-up":
                        warmed_up("av")
                elif frame.get("type") == "error":
                    errors["error_frames"] += 1
        except Exception:
            pass

    started = time.monotonic()
    agents = await asyncio.gather(*[open_ws(f"ws://127.0.0.1:{agent_port}/ws/console/", p["session"]) for p in pairs])
    visitors = await asyncio.gather(*[open_ws(
        f"ws://127.0.0.1:{visitor_port}/ws/chat/{p['conversation']}/?token={p['token']}") for p in pairs])
    connect_s = time.monotonic() - started
    live = [(p, a, v) for p, a, v in zip(pairs, agents, visitors) if a and v]
    readers = [asyncio.create_task(agent_reader(a)) for _, a, _ in live]
    readers += [asyncio.create_task(visitor_reader(v)) for _, _, v in live]
    expected = len(live) * args.msgs
    await asyncio.sleep(1.0)      # hello frames, subscriptions
    # One unmeasured message each way warms every process's connections and caches.
    for p, a, v in live:
        try:
            await v.send(json.dumps({"type": "message", "client_id": "warm", "body": "warm-up"}))
            await a.send(json.dumps({"type": "chat.send", "ticket": p["ticket"], "client_id": "warm",
                                     "body": "warm-up"}))
        except Exception:
            errors["send"] += 1       # the server closed the socket (counted, the run goes on)
    # Measure the steady state: every warm-up line has arrived (the first line of each chat looks
    # its ticket up; 500 of them at once kept the agents' process busy into the measured seconds).
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(warm.wait(), 60)
    await asyncio.sleep(2.0)
    # This process measures the latencies: its own full collections (the thousand sockets'
    # objects) would count as the server's delay. Keep what exists now out of them.
    gc.collect()
    gc.freeze()

    def alive(group):
        found = []
        for pid in group:
            with contextlib.suppress(psutil.Error):      # a PostgreSQL backend that has gone
                found.append(psutil.Process(pid))
        return found

    pids["postgres"] = postgres_pids(args.database)      # after the warm-up: the servers' backends exist now
    processes = alive(pids["server"])
    others = {name: alive(group) for name, group in pids.items() if name != "server"}
    me = psutil.Process()
    cpu0 = [cpu_of([p]) for p in processes]
    other0 = {name: cpu_of(group) for name, group in others.items()}
    me0 = cpu_of([me])
    activity0 = postgres_activity(args.database)
    spies = [subprocess.Popen([str(Path(sys.executable).parent / "py-spy"), "record", "-p", str(pid), "-d",
                               str(int(args.msgs * args.interval)), "-f", "raw", "--nonblocking", "-r",
                               os.environ.get("CHAT_BENCH_PYSPY_RATE", "97"), "-o",
                               f"/tmp/spy-{pid}.txt"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for pid in pids["server"]] if os.environ.get("CHAT_BENCH_PYSPY") else []
    t0 = time.monotonic()
    t0_ns = int(t0 * 1e9)

    async def sender(ws, conversation, ticket, side):
        start = t0 + random.random() * args.interval
        for k in range(args.msgs):
            delay = start + k * args.interval - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            body = f"c{conversation}:{k}:{time.monotonic_ns()}:{PAD}"
            frame = ({"type": "message", "client_id": f"v{k}", "body": body} if side == "visitor"
                     else {"type": "chat.send", "ticket": ticket, "client_id": f"a{k}", "body": body})
            try:
                await ws.send(json.dumps(frame))
            except Exception:
                errors["send"] += 1

    await asyncio.gather(*[sender(v, p["i"], p["ticket"], "visitor") for p, _, v in live],
                         *[sender(a, p["i"], p["ticket"], "agent") for p, a, _ in live])
    if not done.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), args.grace)
    wall = time.monotonic() - t0
    for spy in spies:
        spy.wait()
    cpu1 = [cpu_of([p]) for p in processes]
    other1 = {name: cpu_of(group) for name, group in others.items()}
    me1 = cpu_of([me])
    activity1 = postgres_activity(args.database)
    for task in readers:
        task.cancel()
    await asyncio.gather(*[ws.close() for ws in agents + visitors if ws], return_exceptions=True)

    def summary(lat_ns):
        lat = sorted(x / 1e6 for x in lat_ns)
        return {key: (round(pct(lat, q), 2) if lat else None) for key, q in
                (("p50", 50), ("p95", 95), ("p99", 99))} | {"max": round(lat[-1], 2) if lat else None}

    return {
        "pairs": len(pairs), "connected": len(live), "connect_s": round(connect_s, 1), "expected": expected,
        "va": {"received": len(seen_va), "lost": expected - len(seen_va), "dupes": dupes["va"], **summary(lat_va)},
        "av": {"received": len(seen_av), "lost": expected - len(seen_av), "dupes": dupes["av"], **summary(lat_av)},
        "errors": errors, "wall_s": round(wall, 1),
        "warmed_up": dict(warmed),
        "p99_by_second": {kind: {second: round(pct(sorted(values), 99) / 1e6, 1)
                                 for second, values in sorted(seconds.items())}
                          for kind, seconds in by_second.items()},
        "server_cpu_pct": [round(100 * (b - a) / wall, 1) for a, b in zip(cpu0, cpu1)],
        "other_cpu_pct": {name: round(100 * (other1[name] - other0[name]) / wall, 1) for name in others},
        "client_cpu_pct": round(100 * (me1 - me0) / wall, 1),
        "postgres": {key: activity1[key] - activity0[key] for key in activity0},
        "load1": os.getloadavg()[0],
    }


# --------------------------------------------------------------------------- cells

def run_client(coroutine):
    """The load client on uvloop, as the relay's load generator runs with ``--uvloop``: the client
    shares the 2 cores with the servers it measures, so its own cost is kept low."""
    import uvloop

    return uvloop.run(coroutine)


def postgres_pids(database: str) -> list[int]:
    """This run's PostgreSQL backends and the WAL writer (other tenants' backends are left out)."""
    import psutil

    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        title = " ".join(process.info["cmdline"] or [])
        if (process.info["name"] or "").startswith("postgres") and (f" {database} " in title or "walwriter" in title
                                                                     or "wal writer" in title):
            found.append(process.pid)
    return found


def wait_for_quiet(limit: float, seconds: float) -> float:
    """Other tenants share this box: wait (bounded) for the 1-minute load to drop before a cell."""
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] > limit and time.monotonic() < deadline:
        time.sleep(5)
    return os.getloadavg()[0]


def run_relay(n, args):
    port = free_port()
    relay = subprocess.Popen([sys.executable, str(SHARED / "relay.py"), "--port", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_port(port, relay)
        out = subprocess.run([sys.executable, str(SHARED / "loadgen.py"), "--port", str(port), "--n", str(n),
                              "--msgs", str(args.msgs), "--interval", str(args.interval), "--pids", str(relay.pid),
                              "--uvloop"],
                             capture_output=True, text=True, timeout=300)
        result = json.loads(out.stdout.strip().splitlines()[-1])
    finally:
        stop(relay)
    return {"setup": "relay", "layer": "-", "n": n, "expected": result["expected"],
            "va": {"received": result["received"], "lost": result["lost"], "dupes": result["dupes"],
                   "p50": result["p50_ms"], "p95": result["p95_ms"], "p99": result["p99_ms"], "max": result["max_ms"]},
            "av": None, "server_cpu_pct": result["server_cpu_pct_avg"], "other_cpu_pct": {},
            "client_cpu_pct": result["client_cpu_pct_avg"], "load1": float(result["loadavg"][0]), "errors": {}}


def server_command(setup: str, port: int) -> list[str]:
    """daphne (the design's server), daphne on uvloop, or uvicorn (uvloop, websockets) for comparison."""
    if setup.startswith("uvicorn"):
        return [sys.executable, "-m", "uvicorn", "--host", "127.0.0.1", "--port", str(port), "--loop", "uvloop",
                "--ws", "websockets-sansio", "--no-access-log", "--log-level", "warning",
                "supportdesk.asgi:application"]
    server = [str(ROOT / "bench" / "daphne_uvloop.py")] if setup.endswith("-uvloop") else ["-m", "daphne"]
    return [sys.executable, *server, "-b", "127.0.0.1", "-p", str(port), "supportdesk.asgi:application"]


def run_desk(setup, layer, n, env, args, pct):
    tag = f"{setup}-{layer}-{n}-{int(time.time())}"
    pairs = prepare_conversations(n, tag)
    processes, ports, logs = [], [], []
    count = 2 if setup.split("-")[0].endswith("2") else 1
    for _ in range(count):
        port = free_port()
        logs.append(open(ROOT / "var" / f"bench-{setup}-{layer}-{port}.log", "w"))  # noqa: SIM115
        process = subprocess.Popen(server_command(setup, port), cwd=ROOT, env=env.env(CHANNEL_LAYER=layer),
                                   stdout=subprocess.DEVNULL, stderr=logs[-1])
        processes.append(process)
        ports.append(port)
    try:
        for port, process in zip(ports, processes):
            wait_port(port, process)
        pids = {"server": [p.pid for p in processes], "redis": [env.redis.pid], "postgres": []}
        result = run_client(run_desk_load(pairs, ports[0], ports[-1], args, pids, pct))
    finally:
        for process in processes:
            stop(process)
        for log in logs:
            log.close()
    result.update(setup=setup, layer=layer, n=n, **stored_counts(pairs))
    # Stored: the greeting, the two warm-up messages and every measured message of both sides.
    result["stored_expected"] = result["pairs"] * (2 * args.msgs + 3)
    return result


def row(result, relay_p99) -> str:
    va = result["va"]
    ratio = f"{va['p99'] / relay_p99:.1f}×" if relay_p99 and va["p99"] else "–"
    av = result.get("av") or {}
    stored = (f"{result['stored']}/{result['stored_expected']}" if "stored" in result else "–")
    cpu = "+".join(str(x) for x in result["server_cpu_pct"])
    other = ", ".join(f"{k} {v}" for k, v in result.get("other_cpu_pct", {}).items())
    return (f"| {result['setup']} | {result['layer']} | {result['n']} | {va['received']}/{result['expected']} | "
            f"{va['lost']} | {va['dupes']} | {va['p50']} | {va['p95']} | {va['p99']} | {va['max']} | {ratio} | "
            f"{av.get('p99', '–')} | {av.get('lost', '–')} | {stored} | {cpu} | {other or '–'} | "
            f"{result['client_cpu_pct']} | {result.get('load1_before', '–')} → {result['load1']:.2f} | "
            f"{postgres_note(result)} |")


def postgres_note(result) -> str:
    activity = result.get("postgres")
    if not activity:
        return "–"
    lines = 2 * result["expected"]
    return (f"WAL {activity['wal_bytes'] / lines / 1024:.1f} kB/line, checkpoint {activity['checkpoint_buffers']} "
            f"buffers ({activity['checkpoints']} ended), autovacuum {activity['autovacuums']}, "
            f"autoanalyze {activity['autoanalyzes']}")


HEADER = ("| setup | layer | N | visitor→agent received | lost | dup | p50 ms | p95 ms | p99 ms | max ms | "
          "p99 ÷ relay | agent→visitor p99 ms | a→v lost | stored in PostgreSQL | server CPU % "
          "| redis / postgres CPU % "
          "| client CPU % | load1 before → after | PostgreSQL during the run |\n|" + "---|" * 19)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ns", default="50,200,500")
    parser.add_argument("--setups", default="relay,daphne1,daphne2")
    parser.add_argument("--layers", default="pubsub")
    parser.add_argument("--msgs", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--grace", type=float, default=10.0)
    parser.add_argument("--database", default="sd_chat_bench")
    parser.add_argument("--keep-database", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "var" / "chat_latency.jsonl"))
    parser.add_argument("--write-results", default="")
    parser.add_argument("--title", default="")
    parser.add_argument("--quiet-load", type=float, default=1.2, help="wait for load1 below this before a cell")
    parser.add_argument("--quiet-wait", type=float, default=45, help="…but at most this many seconds")
    parser.add_argument("--smoke", action="store_true", help="a tiny run for the test suite (see above)")
    args = parser.parse_args()
    if args.smoke:
        args.ns, args.setups, args.layers = "2", "relay,daphne1", "pubsub"
        args.msgs, args.interval, args.grace, args.quiet_wait, args.out = 3, 0.2, 3, 0, os.devnull
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))     # inherited by the servers
    (ROOT / "var").mkdir(exist_ok=True)
    pct = load_pct()
    results = []
    started = datetime.now(UTC)
    with Environment(args) as env:
        for n in [int(x) for x in args.ns.split(",")]:
            relay_p99 = None
            for setup in args.setups.split(","):
                layers = ["-"] if setup == "relay" else args.layers.split(",")
                for layer in layers:
                    quiet = wait_for_quiet(args.quiet_load, args.quiet_wait)
                    result = run_relay(n, args) if setup == "relay" else run_desk(setup, layer, n, env, args, pct)
                    if setup == "relay":
                        relay_p99 = result["va"]["p99"]
                    result["relay_p99"] = relay_p99
                    result["load1_before"] = round(quiet, 2)
                    results.append(result)
                    print(json.dumps(result), flush=True)
                    with open(args.out, "a") as out:
                        out.write(json.dumps(result) + "\n")
    table = [HEADER] + [row(r, r.get("relay_p99")) for r in results]
    print("\n".join(table))
    if args.write_results:
        command = "python bench/chat_latency.py " + shlex.join(sys.argv[1:])
        with open(args.write_results, "a") as out:
            out.write(f"\n\n## Live chat latency{(' — ' + args.title) if args.title else ''} — "
                      f"{started:%Y-%m-%d %H:%M} UTC\n\n- command: `{command}`\n"
                      f"- machine: {platform.platform()}, nproc={os.cpu_count()}, Python {platform.python_version()}\n"
                      f"- each side sends {args.msgs} messages at ~{1 / args.interval:g} msg/s per conversation; "
                      f"lost = not received within {args.grace:g} s\n\n" + "\n".join(table) + "\n")


if __name__ == "__main__":
    main()
