"""A real daphne serving the test database, and Debian's Chromium driven by Playwright."""

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def desk_env(redis_url: str) -> dict:
    """The environment of a daphne on the test database: PostgreSQL's, or embedded, the SQLite file."""
    from django.db import connection

    if connection.vendor == "postgresql":
        database_url = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
    else:
        database_url = f"sqlite:///{connection.settings_dict['NAME']}"
    return {**os.environ, "DEBUG": "1", "REDIS_URL": redis_url, "DATABASE_URL": database_url}


def serve(module: list[str], env: dict, port: int | None = None):
    """``python -m <module…> -b 127.0.0.1 -p <port> supportdesk.asgi:application`` until the generator
    is closed; yields its URL. Stopped by its PID."""
    port = port or free_port()
    process = subprocess.Popen([sys.executable, "-m", *module, "-b", "127.0.0.1", "-p", str(port),
                                "supportdesk.asgi:application"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.2)
    else:
        process.kill()
        raise RuntimeError("daphne did not start: " + process.stderr.read().decode()[-2000:])
    yield f"http://127.0.0.1:{port}"
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture
def desk_server(transactional_db, settings):
    """daphne in its own process on the test database; stopped by its PID."""
    yield from serve(["daphne"], desk_env(settings.REDIS_URL))


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API keeps an event loop in this thread; the test's own ORM calls are
    # still plain synchronous calls, which Django would otherwise refuse (Playwright's advice).
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is required for browser tests (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        yield instance
        instance.close()


@pytest.fixture(autouse=True)
def one_browser_test_at_a_time():
    """``make test`` runs its two suites side by side; their browser tests take turns (a lock file
    under var/), so two Chromiums and two desks never share the two cores. Alone, it costs nothing."""
    import fcntl

    lock = ROOT / "var" / "browser-tests.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        yield


@pytest.fixture
def artifacts() -> Path:
    """test-artifacts/, or test-artifacts/embedded/ for the embedded run, which ``make test`` runs
    beside the PostgreSQL run: the two never write one file at once."""
    from django.db import connection

    folder = ARTIFACTS if connection.vendor == "postgresql" else ARTIFACTS / "embedded"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def chat_panel_ready(agent) -> None:
    """The ticket page's chat panel with its scripts run and the console's socket open. Enter in the
    composer sends a live line only once the page's scripts run; typed before that (quicker than any
    person, on a loaded machine) it would start a new line in the box."""
    agent.wait_for_selector("#chat-panel")
    agent.wait_for_selector("#live-status.on")


def in_another_thread(work):
    """Run a write as another worker would: off the thread that holds Playwright's event loop."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection

    def run():
        try:
            return work()
        finally:
            connection.close()

    with ThreadPoolExecutor(1) as pool:
        return pool.submit(run).result()


class CuttableProxy:
    """A TCP proxy in front of the desk whose connections can be cut, like a dropped network.

    Browsers' offline emulation leaves open websockets working, so a real cut needs
    the connection itself to go away: ``cut()`` closes every proxied connection and
    refuses new ones until ``restore()``.
    """

    def __init__(self, target_port: int):
        import threading

        self.target_port = target_port
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import threading

        while True:
            try:
                client, _address = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(source, sink), daemon=True).start()

    def _pipe(self, source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                self._close(end)

    def _close(self, end):
        with self.lock:
            self.open.discard(end)
        with contextlib.suppress(OSError):     # already gone
            end.shutdown(socket.SHUT_RDWR)
        end.close()

    def cut(self):
        self.up = False
        with self.lock:
            ends = list(self.open)
        for end in ends:
            self._close(end)

    def restore(self):
        self.up = True

    def close(self):
        self.cut()
        self.listener.close()


@pytest.fixture
def cuttable(desk_server):
    """The desk behind a proxy whose connections the test can cut and restore."""
    proxy = CuttableProxy(int(desk_server.rsplit(":", 1)[1]))
    yield proxy
    proxy.close()


class RestartableDesk:
    """daphne on a fixed port that a test can stop and start again, like a deploy or a crash."""

    def __init__(self, env: dict, log: Path | None = None):
        self.port, self.env, self.process, self.log = free_port(), env, None, log

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        with self.log.open("ab") if self.log else contextlib.nullcontext(subprocess.DEVNULL) as stderr:
            self.process = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(self.port),
                                             "supportdesk.asgi:application"], cwd=ROOT, env=self.env,
                                            stdout=subprocess.DEVNULL, stderr=stderr)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            time.sleep(0.1)
        raise RuntimeError("daphne did not start")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.fixture
def restartable_desk(transactional_db, settings):
    desk = RestartableDesk(desk_env(settings.REDIS_URL))
    desk.start()
    yield desk
    desk.stop()


class PrivateRedis:
    """A redis-server of the test's own on a fixed free port, stopped and started again by its PID.

    Nothing is kept on disk (``--save "" --appendonly no``): a restart comes back empty, with
    no subscriptions, as a crashed or replaced Redis does.
    """

    def __init__(self):
        self.port, self.process = free_port(), None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self):
        import redis

        self.process = subprocess.Popen(
            [shutil.which("redis-server") or "/usr/bin/redis-server", "--bind", "127.0.0.1", "--port", str(self.port),
             "--save", "", "--appendonly", "no", "--daemonize", "no", "--logfile", ""],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(redis.exceptions.ConnectionError):      # not listening yet
                if self.client().ping():
                    return
            time.sleep(0.05)
        self.process.kill()
        raise RuntimeError("redis-server did not start")

    def stop(self):
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def client(self):
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def subscribed(self) -> set[str]:
        """The pub/sub channels someone listens to right now."""
        return {name.decode() for name in self.client().pubsub_channels()}


@pytest.fixture
def private_redis():
    if not shutil.which("redis-server"):
        pytest.fail("redis-server is required for the Redis restart test")
    server = PrivateRedis()
    server.start()
    yield server
    if server.process.poll() is None:
        server.stop()


@pytest.fixture
def desk_on_private_redis(transactional_db, private_redis, artifacts):
    """daphne on the test database whose channel layer and cache are the test's own Redis.

    Its log goes to test-artifacts/daphne-redis-restart.log: what it did while Redis was away.
    """
    log = artifacts / "daphne-redis-restart.log"
    log.unlink(missing_ok=True)
    desk = RestartableDesk(desk_env(private_redis.url), log=log)
    desk.start()
    yield desk
    desk.stop()
