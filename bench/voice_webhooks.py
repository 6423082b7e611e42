"""Phone line under load: Twilio-signed webhooks at a fixed rate into the desk, beside a bare Django view.

What it does, as production does it:

1. Makes a PostgreSQL database (dropped first, dropped again at the end), migrates it and
   seeds the demo (``seed_demo --force``: regions, entry points +46855500001 → europe and
   +15550100001 → us, queues, agents). The demo switch it sets keeps the phone line open
   whatever the hour. The voice agents agent_sv and agent_en are put online with a fresh
   heartbeat, kept fresh during the run, so a caller who picks a language is queued (the
   queue path: a ticket, SLA clocks, an offer to the agent) rather than sent to voicemail.
   Their consoles' open mark in Redis is kept fresh too, so the desk builds and sends its
   console pushes as it does while agents work (no socket is connected to receive them).
2. Serves the desk as ``supportdesk/launcher.py`` does: W daphne processes (default one per
   core) sharing one listening socket on a free port of 127.0.0.1, access log off, DEBUG
   off, PostgreSQL and Redis, TWILIO_ACCOUNT_SID/TWILIO_AUTH_TOKEN set. PUBLIC_BASE_URL is
   https://desk.example.com behind a trusted proxy (TRUSTED_PROXIES=127.0.0.1, requests
   carry X-Forwarded-Proto: https), as Twilio reaches the desk through the TLS proxy.
   Beside them, as the launcher starts it, ``manage.py worker`` (the rq worker and its
   schedule): the busy webhooks store the call's step and answer; the worker writes the
   tickets, clocks and offers from the stored steps. The load starts once the fresh worker is
   idle (its first round renders the last quarter's owners' reports, once). After the desk's load the bench waits
   until the worker has applied every step and reports how far it lagged behind (from a
   webhook's arrival to its step applied) and how many tickets it opened.
3. The baseline, in the same run and served the same way (daphne, W processes, one shared
   socket): ``bench/voice_baseline.py``, a bare Django view answering static TwiML (no
   middleware, no database, no signature check). Same requests, same client.
4. The load client (this process; asyncio + aiohttp, keep-alive connections over S client
   sessions) sends R requests/s for T seconds, open loop: request i is due at start + i/R
   whatever the earlier answers did, and its latency counts from when it was due (a backlog
   in the server or the client counts against the server). Requests are spread over
   R × gap call "lanes"; a lane plays calls one after the other, one step every ``gap``
   seconds, and never sends a call's next step before the previous one answered (Twilio
   would not); such a late send still counts from its due time. Callers do not all ring in
   the same second: each lane first sits out a random share of its first call (uniform over
   that call's steps), so calls start spread over the seconds and, after the warm-up (long
   enough for every lane to have started; not counted), the same lanes go on into the
   measured seconds with calls at every stage. (Lanes that all started together rang 200
   calls in one second and opened 200 tickets in the next, again every few seconds as their
   calls stayed in step: a load no phone line sees at 200 requests/s.)

Each request is signed exactly as Twilio signs it (``RequestValidator(token).compute_signature(
PUBLIC_BASE_URL + path, params)``), with the parameters Twilio sends. Call flows (each call a
new CallSid; 60 % on the Swedish line pressing 2 mostly, 40 % on the US line pressing 1 mostly):

- 50 % queued, then gone: incoming → language → wait ×3 → status completed
- 30 % hang up in the queue: incoming → language → wait ×3 → queue-result hangup → status completed
- 20 % voicemail from the queue: incoming → language → wait ×2 → wait (Digits=1: leave) →
  queue-result leave → voicemail (the recording) → transcription (English) → status completed

Errors: an answer other than 200, no answer within 15 s (Twilio gives up), a connection
error, or TwiML that is the desk's apology ("something went wrong"). Target: desk p99 ≤ 3× the
bare view's p99 measured in the same run, and under 100 ms, with 0 errors.

    .venv/bin/python bench/voice_webhooks.py [--rate 200] [--seconds 30] [--servers 2] [--runs 1]
        [--database-url postgres://postgres@127.0.0.1:5432/sd_bench_voice] [--redis redis://127.0.0.1:6379/13]
        [--write-results bench/RESULTS.md] [--smoke]

``--smoke``: the suite's run, 20 requests/s for 3 s (3 s warm-up, one step every 0.25 s).
Exit status 0 when neither side had an error (the target's verdict is printed, not the exit status).
"""

import argparse
import asyncio
import contextlib
import ctypes
import http.client
import os
import platform
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEFAULT_URL = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/sd_bench_voice")
DEFAULT_REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
ACCOUNT = "AC" + "b" * 32
TOKEN = "bench-voice-auth-token"
PUBLIC = "https://desk.example.com"
TWILIO_GIVES_UP = 15.0
APOLOGY = b"something went wrong"
SWEDISH_LINE, US_LINE = "+46855500001", "+15550100001"
AGENTS = ("agent_sv", "agent_en")
TARGET_RATIO, TARGET_P99_MS = 3.0, 100.0


# --- the database, the servers ---------------------------------------------------------------------


def server_url(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres")), parts.path.lstrip("/")


def recreate_postgres(url: str, *, connection_limit: int = 0, drop_only: bool = False) -> str:
    """The database afresh, owned by a login role of its own name that may hold ``connection_limit`` connections.

    The desk connects as that role, not as the superuser of ``url``: a superuser ignores connection
    limits, and a desk that runs the server out of connections would fail every other user of it (a
    test suite running beside the bench). Returns the desk's database URL."""
    import psycopg

    maintenance, name = server_url(url)
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'DROP ROLE IF EXISTS "{name}"')
        if not drop_only:
            conn.execute(f'CREATE ROLE "{name}" LOGIN CONNECTION LIMIT {int(connection_limit) or -1}')
            conn.execute(f'CREATE DATABASE "{name}" OWNER "{name}"')
    parts = urlsplit(url)
    netloc = f"{name}@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def desk_environment(database_url: str, redis_url: str, media: Path) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "supportdesk.settings", "DATABASE_URL": database_url,
            "REDIS_URL": redis_url, "DEBUG": "0", "DEMO": "0", "SECRET_KEY": "bench-only",
            "FIELD_ENCRYPTION_KEY": "bench-only", "MEDIA_ROOT": str(media),
            "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
            "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN, "PUBLIC_BASE_URL": PUBLIC,
            "ALLOWED_HOSTS": urlsplit(PUBLIC).hostname, "TRUSTED_PROXIES": "127.0.0.1", "PYTHONUNBUFFERED": "1"}


def bare_environment(*, as_tuned: bool = False) -> dict[str, str]:
    return {**os.environ, "DJANGO_SETTINGS_MODULE": "bench.voice_baseline", "PYTHONUNBUFFERED": "1",
            **({"BARE_AS_TUNED": "1"} if as_tuned else {})}


def manage(env: dict[str, str], *arguments: str, timeout: float = 300) -> None:
    done = subprocess.run([PYTHON, "manage.py", *arguments], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)
    if done.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(arguments)} failed:\n{done.stderr[-3000:]}")


# The demo (its switch keeps the phone line open at any hour), then the voice agents online as their consoles
# make them (routing.set_presence, which also makes their routing state).
SEED = f"""
from django.contrib.auth import get_user_model
from django.core.management import call_command
from apps.routing import services
call_command("seed_demo", force=True, verbosity=0)
for user in get_user_model().objects.filter(username__in={list(AGENTS)!r}):
    services.set_presence(user=user, presence="online")
"""


def agents_online(database_url: str) -> int:
    """agent_sv and agent_en online with a fresh heartbeat (what their open consoles do); how many rows."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return conn.execute(
            "UPDATE routing_agentstate SET presence = 'online', last_seen_at = now() WHERE user_id IN "
            "(SELECT id FROM auth_user WHERE username = ANY(%s))", [list(AGENTS)]).rowcount


# Django's cache key for ``apps.console.push.LISTENING_KEY`` (no KEY_PREFIX, version 1): consoles are open.
CONSOLES_OPEN_KEY = ":1:console:listening"


def consoles_open(redis_url: str) -> None:
    """The mark open consoles keep in Redis (their heartbeat), so the desk builds its console pushes as it
    does while agents work; without it the desk would skip them, and the bench would flatter the desk."""
    import redis

    redis.Redis.from_url(redis_url).set(CONSOLES_OPEN_KEY, 1, ex=150)


class Watch:
    """Each second during the desk's load: the agents' heartbeat and their consoles' open mark (every 10 s),
    and the desk's PostgreSQL connections.

    Connects as the superuser of ``--database-url`` (the desk's own role may have none left)."""

    def __init__(self, admin_url: str, role: str, redis_url: str):
        self.admin_url, self.role, self.redis_url = admin_url, role, redis_url
        self.peak, self.last_heartbeat, self.failures = 0, 0.0, 0

    def __call__(self) -> None:
        import psycopg
        import redis

        try:
            if time.monotonic() - self.last_heartbeat > 10:
                agents_online(self.admin_url)
                consoles_open(self.redis_url)
                self.last_heartbeat = time.monotonic()
            with psycopg.connect(self.admin_url, autocommit=True) as conn:
                held = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE usename = %s",
                                    [self.role]).fetchone()[0]
            self.peak = max(self.peak, held)
        except (psycopg.Error, redis.RedisError):
            self.failures += 1


def _die_with_parent() -> None:
    """In the child: SIGTERM when this bench dies, even by SIGKILL (a suite's timeout), so no server outlives it."""
    with contextlib.suppress(OSError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)     # PR_SET_PDEATHSIG


class Servers:
    """W daphne processes sharing one listening socket (supportdesk/launcher.py ``start_web``), stopped by PID."""

    def __init__(self, application: str, *, count: int, env: dict[str, str], log: Path):
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=1024)
        self.listener.set_inheritable(True)
        self.port = self.listener.getsockname()[1]
        self.application, self.log = application, log
        fd = self.listener.fileno()
        with log.open("ab") as err:
            self.processes = [subprocess.Popen([PYTHON, "-m", "daphne", "--verbosity", "0", "--fd", str(fd),
                                                application], cwd=ROOT, env=env, pass_fds=(fd,),
                                               stdout=subprocess.DEVNULL, stderr=err, preexec_fn=_die_with_parent)
                              for _ in range(max(1, count))]

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self.processes]

    def wait_ready(self, seconds: float = 60) -> None:
        """Until a request is answered (the socket accepts at once: listening is no sign of a loaded app)."""
        deadline = time.monotonic() + seconds
        while True:
            if any(process.poll() is not None for process in self.processes):
                raise SystemExit(f"{self.application}: a server exited:\n{self.log.read_text()[-3000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/voice/incoming", headers={"Host": urlsplit(PUBLIC).hostname,
                                                                      "X-Forwarded-Proto": "https"})
                status = connection.getresponse().status
                connection.close()
                if status < 500:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.application} did not answer in {seconds:.0f} s:\n"
                                 f"{self.log.read_text()[-3000:]}")
            time.sleep(0.2)

    def stop(self, seconds: float = 10) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.kill(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + seconds
        for process in self.processes:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=5)
        self.listener.close()


class Worker:
    """``manage.py worker`` (rq worker, its scheduler and the cron schedule) in a process group of its own."""

    def __init__(self, env: dict[str, str], log: Path):
        with log.open("ab") as out:
            self.process = subprocess.Popen([PYTHON, "manage.py", "worker", "--verbosity", "0"], cwd=ROOT, env=env,
                                            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                            preexec_fn=_die_with_parent)

    @property
    def pids(self) -> list[int]:
        import psutil

        try:
            parent = psutil.Process(self.process.pid)
            return [parent.pid, *(child.pid for child in parent.children(recursive=True))]
        except psutil.Error:
            return []

    def stop(self, seconds: float = 10) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=seconds)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=5)


def settle(redis_url: str, *, quiet: float = 2.0, limit: float = 240) -> float:
    """Wait until the fresh worker has done its start-up work (every queue empty, no job running, for
    ``quiet`` seconds); returns the seconds waited. A new database gives the schedule's first round
    a quarter of owners' reports to render as PDFs, once, which is not the phone line's steady state."""
    import redis
    from rq import Queue
    from rq.registry import StartedJobRegistry

    from supportdesk.launcher import worker_queues

    connection = redis.Redis.from_url(redis_url)
    queues = [Queue(name, connection=connection) for name in worker_queues()]
    started = time.monotonic()
    calm_since = None
    while time.monotonic() - started < limit:
        busy = any(queue.count or StartedJobRegistry(queue=queue).count for queue in queues)
        if busy:
            calm_since = None
        elif calm_since is None:
            calm_since = time.monotonic()
        elif time.monotonic() - calm_since >= quiet:
            break
        time.sleep(0.2)
    return time.monotonic() - started


@dataclass
class Drain:
    """The worker's side of a run: every stored step applied, and how late."""

    seconds: float = float("nan")      # after the load stopped, until no step was pending
    steps: int = 0
    pending: int = 0                    # still pending when the bench gave up waiting
    failed: int = 0                     # steps that needed a retry
    lag_p50: float = float("nan")       # seconds from a webhook's arrival to its step applied
    lag_p99: float = float("nan")
    lag_max: float = float("nan")
    tickets: int = 0
    settled: float = float("nan")       # seconds the fresh worker took with its start-up work, before the load


def drain(admin_url: str, *, limit: float = 300) -> Drain:
    """Wait (at most ``limit`` s) until the worker has applied every stored call step; its lag and tickets."""
    import psycopg

    started = time.monotonic()
    found = Drain()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        while True:
            found.pending = conn.execute("SELECT count(*) FROM voice_callstep WHERE applied_at IS NULL").fetchone()[0]
            if not found.pending or time.monotonic() - started > limit:
                break
            time.sleep(0.2)
        found.seconds = time.monotonic() - started
        row = conn.execute(
            "SELECT count(*), count(*) FILTER (WHERE attempts > 0), "
            "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at)), "
            "percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM applied_at - received_at)), "
            "max(extract(epoch FROM applied_at - received_at)) FROM voice_callstep").fetchone()
        found.steps, found.failed = row[0], row[1]
        found.lag_p50, found.lag_p99, found.lag_max = (float(v) if v is not None else float("nan") for v in row[2:])
        found.tickets = conn.execute("SELECT count(*) FROM tickets_ticket WHERE channel = 'voice'").fetchone()[0]
    return found


# --- the calls --------------------------------------------------------------------------------------


@dataclass
class Request:
    path: str
    body: bytes
    signature: str


def sid(rng: random.Random, prefix: str) -> str:
    return prefix + f"{rng.getrandbits(128):032x}"


def call_flow(rng: random.Random, validator) -> list[Request]:
    """One call's webhooks, in order, with the parameters Twilio sends, each signed as Twilio signs it."""
    swedish = rng.random() < 0.6
    line = SWEDISH_LINE if swedish else US_LINE
    number = f"+4670{rng.randrange(10**7):07d}" if swedish else f"+1555{rng.randrange(10**7):07d}"
    digits = ("2" if rng.random() < 0.8 else "1") if swedish else ("1" if rng.random() < 0.9 else "2")
    country = "SE" if swedish else "US"
    call_sid, queue_sid = sid(rng, "CA"), sid(rng, "QU")
    base = {"AccountSid": ACCOUNT, "ApiVersion": "2010-04-01", "CallSid": call_sid, "CallStatus": "in-progress",
            "Called": line, "CalledCountry": country, "Caller": number, "CallerCountry": country,
            "Direction": "inbound", "From": number, "FromCountry": country, "To": line, "ToCountry": country,
            "CalledCity": "", "CalledState": "", "CalledZip": "", "CallerCity": "", "CallerState": "",
            "CallerZip": "", "FromCity": "", "FromState": "", "FromZip": "", "ToCity": "", "ToState": "", "ToZip": ""}
    position = rng.randint(1, 4)
    queued = {"QueueSid": queue_sid, "CurrentQueueSize": str(position + rng.randint(0, 3)), "AvgQueueTime": "60",
              "QueuePosition": str(position)}
    steps: list[tuple[str, dict]] = [("/voice/incoming", {"CallStatus": "ringing"}),
                                     ("/voice/language", {"Digits": digits, "msg": "Gather End"})]
    kind = rng.random()
    waits = 3 if kind < 0.8 else 2
    language = "sv" if digits == "2" else "en"
    wait = f"/voice/wait?language={language}"                  # the Enqueue's waitUrl
    queue_result = f"/voice/queue-result?language={language}"  # the Enqueue's action
    steps += [(wait, {**queued, "QueueTime": str(5 + 20 * n)}) for n in range(waits)]
    if kind < 0.5:                          # queued, then the caller was gone (no queue report)
        pass
    elif kind < 0.8:                        # hung up in the queue
        steps.append((queue_result, {"QueueSid": queue_sid, "QueueResult": "hangup", "QueueTime": "50"}))
    else:                                   # pressed 1 for voicemail while waiting
        recording = sid(rng, "RE")
        steps += [(wait, {**queued, "QueueTime": "45", "Digits": "1", "msg": "Gather End"}),
                  (queue_result, {"QueueSid": queue_sid, "QueueResult": "leave", "QueueTime": "46"}),
                  (f"/voice/voicemail?language={language}", {
                      "RecordingSid": recording, "RecordingDuration": str(rng.randint(5, 90)), "Digits": "#",
                      "RecordingUrl": f"https://api.twilio.com/2010-04-01/Accounts/{ACCOUNT}/Recordings/{recording}"})]
        if digits == "1":
            steps.append(("/voice/transcription", {
                "RecordingSid": recording, "TranscriptionSid": sid(rng, "TR"), "TranscriptionStatus": "completed",
                "TranscriptionText": "Hi, my extension stopped syncing after the update, please call me back.",
                "TranscriptionType": "fast", "TranscriptionUrl": f"https://api.twilio.com/2010-04-01/Accounts/"
                                                                 f"{ACCOUNT}/Transcriptions/x"}))
    steps.append(("/voice/status", {"CallStatus": "completed", "CallDuration": str(rng.randint(20, 300)),
                                    "Duration": "2", "SequenceNumber": "3", "CallbackSource": "call-progress-events",
                                    "Timestamp": "Sat, 28 Nov 2026 00:00:00 +0000"}))
    requests = []
    for path, extra in steps:
        params = {**base, **extra}
        requests.append(Request(path, urlencode(params).encode(), validator.compute_signature(PUBLIC + path, params)))
    return requests


def lanes_of(rng: random.Random, *, lanes: int, per_lane: int, stagger: int = 0) -> list[list[Request | None]]:
    """Each lane's ``per_lane`` slots: calls back to back, the last one perhaps cut short by the end of the run.

    With ``stagger``, a lane first sits out (None) a random number of slots, fewer than its first
    call's steps and than ``stagger``: the lanes' calls start out of step, as callers' do."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    out = []
    for _lane in range(lanes):
        first = call_flow(rng, validator)
        queue: list[Request | None] = [None] * rng.randrange(max(1, min(len(first), stagger))) + first
        while len(queue) < per_lane:
            queue += call_flow(rng, validator)
        out.append(queue[:per_lane])
    return out


# --- the load client --------------------------------------------------------------------------------


@dataclass
class Outcome:
    path: str
    due: float
    latency: float          # seconds from due to the whole answer read
    lag: float              # seconds from due to sent (the client's own lag, or waiting for the call's last step)
    status: int             # HTTP status; 0 no answer in time, -1 connection error
    kind: str               # "ok", "status", "timeout", "connection", "apology"
    answer: str = ""        # what the answer was, for the steps whose answer picks the path


@dataclass
class Phase:
    outcomes: list[Outcome] = field(default_factory=list)
    wall: float = 0.0
    cpu: dict[str, float] = field(default_factory=dict)
    connections: list[int] = field(default_factory=list)
    db_connections: int = 0
    drain: Drain = field(default_factory=Drain)


def what_it_said(path: str, body: bytes) -> str:
    if APOLOGY in body:
        return "apology"
    if path == "/voice/incoming":
        return "menu" if b"<Gather" in body and b"/voice/language" in body else (
            "closed" if b"/voice/voicemail" in body else "other")
    if path == "/voice/language":
        return "queue" if b"<Enqueue" in body else "voicemail" if b"<Record" in body else "other"
    return ""


async def send(session, port: int, request: Request, due: float, timeout) -> Outcome:
    import aiohttp

    sent = time.perf_counter()
    headers = {"Host": urlsplit(PUBLIC).hostname, "X-Forwarded-Proto": "https", "X-Forwarded-For": "54.172.60.1",
               "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": request.signature,
               "User-Agent": "TwilioProxy/1.1", "Accept": "*/*"}
    try:
        async with session.post(f"http://127.0.0.1:{port}{request.path}", data=request.body, headers=headers,
                                timeout=timeout, allow_redirects=False) as response:
            body = await response.read()
            status = response.status
    except TimeoutError:
        return Outcome(request.path, due, time.perf_counter() - due, sent - due, 0, "timeout")
    except aiohttp.ClientError:
        return Outcome(request.path, due, time.perf_counter() - due, sent - due, -1, "connection")
    done = time.perf_counter()
    kind = "status" if status != 200 else "apology" if APOLOGY in body else "ok"
    return Outcome(request.path, due, done - due, sent - due, status, kind, what_it_said(request.path, body))


async def play(port: int, lanes: list[list[Request | None]], *, rate: float, sessions: int, counted_from: int = 0,
               keep_online=None, before_close=None) -> tuple[list[Outcome], float]:
    """Every lane's requests at their due times; the outcomes of slots from ``counted_from`` on and their wall time.

    The slots before ``counted_from`` are the warm-up. ``before_close()`` is called while the
    client's connections are still open."""
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=TWILIO_GIVES_UP)
    clients = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, force_close=False),
                                     skip_auto_headers=("User-Agent",)) for _ in range(sessions)]
    stop_keeping = asyncio.Event()
    count = len(lanes)

    async def keeper():
        while not stop_keeping.is_set():
            await asyncio.to_thread(keep_online)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop_keeping.wait(), 1)

    async def lane(index: int, requests: list[Request | None], start: float, into: list[Outcome]):
        client = clients[index % sessions]
        for step, request in enumerate(requests):
            if request is None:             # this lane's caller has not rung yet
                continue
            due = start + (index + step * count) / rate
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            outcome = await send(client, port, request, due, timeout)
            if step >= counted_from:
                into.append(outcome)

    keeping = asyncio.create_task(keeper()) if keep_online else None
    try:
        outcomes: list[Outcome] = []
        start = time.perf_counter() + 0.05
        await asyncio.gather(*(lane(i, requests, start, outcomes) for i, requests in enumerate(lanes)))
        wall = time.perf_counter() - (start + counted_from * count / rate)
        if before_close:
            before_close()
    finally:
        stop_keeping.set()
        if keeping:
            await keeping
        for client in clients:
            await client.close()
    return outcomes, wall


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    import psutil

    spent = {}
    for pid in pids:
        try:
            times = psutil.Process(pid).cpu_times()
            spent[pid] = times.user + times.system
        except psutil.Error:
            pass
    return spent


def cpu_between(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings; a process started in between counts from 0."""
    return sum(seconds - before.get(pid, 0.0) for pid, seconds in after.items())


def named_pids(name: str) -> list[int]:
    import psutil

    return [p.pid for p in psutil.process_iter(["name"]) if (p.info["name"] or "").startswith(name)]


def established(pids: list[int], port: int) -> list[int]:
    import psutil

    counts = []
    for pid in pids:
        try:
            connections = psutil.Process(pid).net_connections(kind="tcp")
        except psutil.Error:
            connections = []
        counts.append(sum(1 for c in connections if c.laddr and c.laddr.port == port and c.status == "ESTABLISHED"))
    return counts


def measure(servers: Servers, args, *, seed: int, keep_online=None, worker: Worker | None = None) -> Phase:
    lanes = max(1, round(args.rate * args.gap))
    measured = max(1, round(args.rate * args.seconds / lanes))
    warm = round(args.rate * args.warm / lanes)
    plan = lanes_of(random.Random(seed), lanes=lanes, per_lane=warm + measured, stagger=warm)
    # Listed again at the end: PostgreSQL starts a backend for each connection the run opens.
    groups = {"server": lambda: servers.pids, "client": lambda: [os.getpid()],
              "postgres": lambda: named_pids("postgres"), "redis": lambda: named_pids("redis-server"),
              **({"worker": lambda: worker.pids} if worker else {})}
    phase = Phase()
    runner = _runner()
    sessions = min(args.sessions, lanes)

    def count_connections():
        phase.connections = established(servers.pids, servers.port)

    async def go():
        before = {name: cpu_seconds(pids()) for name, pids in groups.items()}
        started = time.perf_counter()
        outcomes, wall = await play(servers.port, plan, rate=args.rate, sessions=sessions, counted_from=warm,
                                    keep_online=keep_online, before_close=count_connections)
        # Over the warm-up and the measured seconds alike: the warm-up runs at nearly the same rate.
        spent = (time.perf_counter() - started) or 1.0
        phase.cpu = {name: 100 * cpu_between(before[name], cpu_seconds(pids())) / spent
                     for name, pids in groups.items()}
        phase.outcomes, phase.wall = outcomes, wall

    runner(go())
    return phase


def _runner():
    try:
        import uvloop
    except ImportError:
        return asyncio.run
    return uvloop.run


# --- figures ------------------------------------------------------------------------------------------


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, int(round(share * len(ordered) + 0.5)) - 1))]


@dataclass
class Figures:
    requests: int
    p50: float
    p99: float
    max: float
    errors: Counter
    late: int
    lag_p99: float
    rate: float
    by_path: dict[str, tuple[int, float, float]]
    paths: Counter
    cpu: dict[str, float]
    connections: list[int]
    db_connections: int
    drain: Drain = field(default_factory=Drain)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def step_name(path: str) -> str:
    return path.split("?", 1)[0].rsplit("/", 1)[-1]


def figures(phase: Phase) -> Figures:
    outcomes = phase.outcomes
    latencies = [o.latency * 1000 for o in outcomes]
    errors = Counter(o.kind if o.kind != "status" else f"HTTP {o.status}" for o in outcomes if o.kind != "ok")
    grouped: dict[str, list[float]] = defaultdict(list)
    for o in outcomes:
        grouped[step_name(o.path)].append(o.latency * 1000)
    by_path = {name: (len(values), percentile(values, 0.5), percentile(values, 0.99))
               for name, values in sorted(grouped.items())}
    paths = Counter(f"{step_name(o.path)}→{o.answer}" for o in outcomes if o.answer)
    return Figures(requests=len(outcomes), p50=percentile(latencies, 0.5), p99=percentile(latencies, 0.99),
                   max=max(latencies, default=float("nan")), errors=errors,
                   late=sum(1 for o in outcomes if o.lag > 0.010), lag_p99=percentile([o.lag * 1000 for o in outcomes],
                                                                                      0.99),
                   rate=len(outcomes) / phase.wall if phase.wall else 0.0, by_path=by_path, paths=paths,
                   cpu=phase.cpu, connections=phase.connections, db_connections=phase.db_connections,
                   drain=phase.drain)


def verdict(desk: Figures, bare: Figures) -> tuple[bool, str]:
    ratio = desk.p99 / bare.p99 if bare.p99 else float("inf")
    met_ratio, met_absolute = ratio <= TARGET_RATIO, desk.p99 < TARGET_P99_MS
    clean = desk.error_count == 0 and bare.error_count == 0
    ok = met_ratio and met_absolute and clean
    parts = [f"desk p99 {desk.p99:.1f} ms = {ratio:.1f}× bare ({'≤' if met_ratio else '>'} {TARGET_RATIO:.0f}×)",
             f"{'<' if met_absolute else '≥'} {TARGET_P99_MS:.0f} ms",
             f"errors desk {desk.error_count}, bare {bare.error_count}"]
    return ok, f"target (desk p99 ≤ {TARGET_RATIO:.0f}× bare p99, < {TARGET_P99_MS:.0f} ms, 0 errors): " + (
        "met" if ok else "NOT met") + " — " + "; ".join(parts)


def line(run: int, desk: Figures, bare: Figures) -> str:
    ratio = desk.p99 / bare.p99 if bare.p99 else float("inf")

    def side(name: str, f: Figures) -> str:
        errors = f"{f.error_count} errors of {f.requests}" + (f" {dict(f.errors)}" if f.error_count else "")
        return (f"{name} p50 {f.p50:.1f} ms, p99 {f.p99:.1f} ms, max {f.max:.1f} ms, {errors}, "
                f"{f.rate:.0f} req/s")

    return f"voice webhooks, run {run}: {side('desk', desk)}; {side('bare', bare)}; desk/bare p99 {ratio:.1f}×"


# --- one run --------------------------------------------------------------------------------------------


def one_run(args, index: int, work: Path) -> tuple[Figures, Figures]:
    import redis

    database_url = recreate_postgres(args.database_url, connection_limit=args.connection_limit)
    redis.Redis.from_url(args.redis).flushdb()
    env = desk_environment(database_url, args.redis, work / "media")
    if args.conn_max_age is not None:       # a settings module of the run's own, outside the checkout
        (work / "voice_bench_settings.py").write_text(
            "from supportdesk.settings import *  # noqa: F403\n"
            f"DATABASES['default']['CONN_MAX_AGE'] = {args.conn_max_age}  # noqa: F405\n")
        env.update(DJANGO_SETTINGS_MODULE="voice_bench_settings",
                   PYTHONPATH=os.pathsep.join(filter(None, [str(work), env.get("PYTHONPATH")])))
    bare = Servers("bench.voice_baseline:application", count=args.servers,
                   env=bare_environment(as_tuned=args.bare_as_tuned),
                   log=work / "bare.log")
    desk = worker = None
    try:
        manage(env, "migrate", "--no-input", "-v", "0")
        manage(env, "shell", "-c", SEED)
        online = agents_online(args.database_url)
        if online != len(AGENTS):
            raise SystemExit(f"expected {len(AGENTS)} voice agents to put online, found {online}")
        desk = Servers("supportdesk.asgi:application", count=args.servers, env=env, log=work / "desk.log")
        worker = Worker(env, work / "worker.log")
        bare.wait_ready()
        desk.wait_ready()
        phases: dict[str, Phase] = {}
        order = ("desk", "bare") if index % 2 == 0 else ("bare", "desk")
        for name in order:
            if name == "desk":
                settled = settle(args.redis)
                watch = Watch(args.database_url, server_url(args.database_url)[1], args.redis)
                phases[name] = measure(desk, args, seed=args.seed + 10 * index, keep_online=watch, worker=worker)
                phases[name].db_connections = watch.peak
                phases[name].drain = drain(args.database_url)
                phases[name].drain.settled = settled
            else:
                phases[name] = measure(bare, args, seed=args.seed + 10 * index)
    finally:
        for group in (worker, desk, bare):
            if group is not None:
                group.stop()
        if not args.keep_database:
            recreate_postgres(args.database_url, drop_only=True)
        redis.Redis.from_url(args.redis).flushdb()
    found = figures(phases["desk"]), figures(phases["bare"])
    if found[0].error_count:
        print(f"desk server log (last lines):\n{(work / 'desk.log').read_text(errors='replace')[-2000:]}",
              file=sys.stderr)
    return found


def versions(args) -> str:
    from importlib.metadata import version

    import psycopg
    import redis

    names = ("Django", "daphne", "Twisted", "channels", "twilio", "psycopg", "aiohttp", "uvloop")
    found = []
    for name in names:
        with contextlib.suppress(Exception):       # not installed: left out
            found.append(f"{name} {version(name)}")
    try:
        with psycopg.connect(server_url(args.database_url)[0]) as conn:
            found.append(f"PostgreSQL {conn.execute('SHOW server_version').fetchone()[0].split()[0]}")
    except psycopg.Error:
        pass
    with contextlib.suppress(redis.RedisError):
        found.append(f"Redis {redis.Redis.from_url(args.redis).info('server')['redis_version']}")
    return ", ".join(found)


def drained(d: Drain) -> str:
    return (f"worker (idle {d.settled:.1f} s after its start, before the load): "
            f"{d.steps:,} stored steps applied in their calls' order, {d.tickets:,} voice tickets opened; "
            f"a step applied p50 {d.lag_p50:.2f} s, p99 {d.lag_p99:.2f} s, max {d.lag_max:.2f} s after its webhook "
            f"arrived; all applied {d.seconds:.1f} s after the load stopped; {d.pending} left pending, "
            f"{d.failed} retried")


def range_of(values: list[float], digits: int = 1) -> str:
    low, high = min(values), max(values)
    return f"{low:.{digits}f}" if len(values) == 1 or low == high else f"{low:.{digits}f}–{high:.{digits}f}"


def write_results(path: Path, args, results: list[tuple[Figures, Figures]], verdicts: list[tuple[bool, str]]) -> None:
    command = shlex.join(["python", "bench/voice_webhooks.py", *sys.argv[1:]])
    lanes = max(1, round(args.rate * args.gap))
    rows = []
    for run, (desk, bare) in enumerate(results, 1):
        for name, f in (("desk", desk), ("bare view", bare)):
            errors = f"{f.error_count}" + (f" {dict(f.errors)}" if f.error_count else "")
            ratio = f"{desk.p99 / bare.p99:.1f}×" if name == "desk" else ""
            cpu = ", ".join(f"{k} {v:.0f}" for k, v in f.cpu.items())
            rows.append(f"| {run} | {name} | {f.requests:,} | {f.rate:.0f} | {f.p50:.1f} | {f.p99:.1f} | {f.max:.1f} "
                        f"| {ratio} | {errors} | {f.late} | {cpu} | {'/'.join(map(str, f.connections))} "
                        f"| {f.db_connections if name == 'desk' else '–'} |")
    desks, bares = [d for d, _b in results], [b for _d, b in results]
    paths = Counter()
    for desk in desks:
        paths.update(desk.paths)
    met = sum(1 for ok, _text in verdicts if ok)
    text = [
        "",
        f"## Phone line webhooks under load — {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"- command: `{command}`",
        f"- machine: {platform.platform()}, {platform.machine()}, nproc={os.cpu_count()} (shared, noisy), "
        f"Python {platform.python_version()}, PostgreSQL and Redis on 127.0.0.1 (same cores); "
        f"load1 at the end {os.getloadavg()[0]:.1f}",
        f"- versions: {versions(args)}",
        f"- served: {args.servers} daphne process(es) per side sharing one socket (as `supportdesk/launcher.py`), "
        f"access log off; desk: `supportdesk.asgi`, DEBUG off, "
        + (f"**what-if: CONN_MAX_AGE={args.conn_max_age}** (the settings: 0 and a pool), "
           if args.conn_max_age is not None
           else "settings as they are (a psycopg pool per process, at most DATABASE_POOL_MAX=16 connections), ")
        + f"connecting as a role of its own limited to {args.connection_limit or 'any number of'} PostgreSQL "
        f"connections (the server, max_connections 100, is shared), Redis, behind a trusted proxy "
        f"(X-Forwarded-Proto https, PUBLIC_BASE_URL {PUBLIC}); bare view: `bench/voice_baseline.py` (static TwiML, "
        f"no middleware, database or signature check)"
        + (", **what-if: with the desk's server tuning** (`--bare-as-tuned`)" if args.bare_as_tuned else ""),
        f"- load: {args.rate:g} signed requests/s for {args.seconds:g} s per side after a {args.warm:g} s warm-up "
        f"(lanes start out of step, then go on into the measured seconds), open loop (latency from each request's "
        f"due time), {lanes} call lanes (one step every {args.gap:g} s), "
        f"{min(args.sessions, lanes)} aiohttp keep-alive sessions; calls: 50 % incoming → language → wait ×3 → "
        f"status completed, 30 % the same with queue-result hangup, 20 % leave the queue for voicemail "
        f"(recording, transcription for English)",
        f"- path taken: agents agent_sv and agent_en online (heartbeat kept fresh), demo switch on (phone open at "
        f"any hour): the queue path; answers seen over all runs {dict(sorted(paths.items()))}",
        "- errors: non-200, no answer within 15 s, connection errors, the apology TwiML; late = sent > 10 ms after "
        "its due time (the client's lag, or the call's previous step still unanswered)",
        "",
        "| run | side | requests | req/s | p50 ms | p99 ms | max ms | desk/bare p99 | errors | late "
        "| CPU % (server, client, postgres, redis, worker) | client connections per server process "
        "| PostgreSQL connections, peak |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|",
        *rows,
        "",
    ]
    for run, desk in enumerate(desks, 1):
        text.append(f"- run {run}, desk by webhook (n, p50 ms, p99 ms): " + ", ".join(
            f"{name} {n} / {p50:.1f} / {p99:.1f}" for name, (n, p50, p99) in desk.by_path.items()))
    if len(results) > 1:
        text.append(f"- range over {len(results)} runs: desk p50 {range_of([d.p50 for d in desks])} ms, "
                    f"p99 {range_of([d.p99 for d in desks])} ms; bare p50 {range_of([b.p50 for b in bares])} ms, "
                    f"p99 {range_of([b.p99 for b in bares])} ms; desk/bare p99 "
                    f"{range_of([d.p99 / b.p99 for d, b in results])}×; errors desk "
                    f"{sum(d.error_count for d in desks)}, bare {sum(b.error_count for b in bares)}")
    for run, desk in enumerate(desks, 1):
        text.append(f"- run {run}, {drained(desk.drain)}")
    for run, (_ok, said) in enumerate(verdicts, 1):
        text.append(f"- run {run} {said}")
    text.append(f"- verdict: target met in {met} of {len(verdicts)} run(s)")
    with path.open("a", encoding="utf-8") as out:
        out.write("\n".join(text) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    parser.add_argument("--rate", type=float, default=200, help="signed requests per second, each side")
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds, each side")
    parser.add_argument("--warm", type=float, default=12,
                        help="warm-up seconds, not counted: the lanes start out of step within them (≥ a call's steps)")
    parser.add_argument("--gap", type=float, default=1.0, help="seconds between two steps of one call")
    parser.add_argument("--servers", type=int, default=os.cpu_count() or 1, help="daphne processes, each side")
    parser.add_argument("--sessions", type=int, default=16, help="client sessions (keep-alive connection pools)")
    parser.add_argument("--runs", type=int, default=1, help="runs, each with its own database and servers")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=DEFAULT_URL)
    parser.add_argument("--redis", default=DEFAULT_REDIS, help="a Redis database of the bench's own: it is emptied")
    parser.add_argument("--connection-limit", type=int, default=40,
                        help="PostgreSQL connections the desk's role may hold (the server is shared: 0 = no limit)")
    parser.add_argument("--conn-max-age", type=int, default=None,
                        help="what-if: serve the desk with this CONN_MAX_AGE instead of the settings' (0, pooled)")
    parser.add_argument("--bare-as-tuned", action="store_true",
                        help="what-if: serve the bare view with the desk's server tuning "
                             "(supportdesk/daphne_tuning.py, the collector's settings in supportdesk/asgi.py)")
    parser.add_argument("--keep-database", action="store_true", help="leave the database for a look afterwards")
    parser.add_argument("--write-results", type=Path)
    parser.add_argument("--smoke", action="store_true", help="the suite's run: 20 requests/s for 3 s, one run")
    args = parser.parse_args()
    if args.smoke:
        args.rate, args.seconds, args.warm, args.gap, args.runs = 20, 3, 3, 0.25, 1
        args.connection_limit = max(args.connection_limit, 60)     # 80 requests: room for the leak described below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))     # stop the servers on the way out
    work = Path(tempfile.mkdtemp(prefix="voice-bench-"))
    results, verdicts = [], []
    try:
        for index in range(args.runs):
            desk, bare = one_run(args, index, work)
            results.append((desk, bare))
            verdicts.append(verdict(desk, bare))
            print(line(index + 1, desk, bare), flush=True)
            print("  desk by webhook (n, p50 ms, p99 ms): " + ", ".join(
                f"{name} {n}/{p50:.1f}/{p99:.1f}" for name, (n, p50, p99) in desk.by_path.items()), flush=True)
            print(f"  desk answers: {dict(sorted(desk.paths.items()))}; late sends desk {desk.late}, bare {bare.late}"
                  f"; client lag p99 desk {desk.lag_p99:.1f} ms, bare {bare.lag_p99:.1f} ms", flush=True)
            print("  CPU %: desk " + ", ".join(f"{k} {v:.0f}" for k, v in desk.cpu.items()) + "; bare " + ", ".join(
                f"{k} {v:.0f}" for k, v in bare.cpu.items()) + f"; connections per process desk "
                  f"{desk.connections}, bare {bare.connections}; desk's PostgreSQL connections, peak "
                  f"{desk.db_connections} (its role may hold {args.connection_limit or 'any number'})", flush=True)
            print("  " + drained(desk.drain), flush=True)
            print(verdicts[-1][1], flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.write_results and results:
        write_results(args.write_results, args, results, verdicts)
    clean = all(d.error_count == 0 and b.error_count == 0 for d, b in results)
    if args.smoke:
        print(f"voice webhooks smoke: {sum(d.requests for d, _b in results)} desk and "
              f"{sum(b.requests for _d, b in results)} bare requests, "
              f"{sum(d.error_count + b.error_count for d, b in results)} errors — {'OK' if clean else 'FAILED'}")
    return 0 if clean else 1


if __name__ == "__main__":
    sys.exit(main())
