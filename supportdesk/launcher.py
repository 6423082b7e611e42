"""`make run`: pick the data stores, migrate, seed, and serve daphne with a worker.

PostgreSQL and Redis are used when DATABASE_URL/REDIS_URL are set or when they
answer on their default local ports; otherwise the desk runs embedded (SQLite,
in-memory channel layer, jobs in process) and says so in one log line.
"""

import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/supportdesk"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"

log = logging.getLogger("supportdesk.launcher")


def listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def ensure_postgres_database(url: str) -> bool:
    """Create the desk's database on a local server if it is missing."""
    import psycopg

    name = url.rsplit("/", 1)[-1]
    try:
        with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return True
    except psycopg.Error as error:
        log.warning("PostgreSQL at %s not usable (%s)", url, error)
        return False


def choose_stores(env: dict) -> str:
    if env.get("EMBEDDED") == "1":
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        return "data stores: SQLite (var/supportdesk.sqlite3); in-memory channel layer, jobs run in process"
    local_postgres = not env.get("DATABASE_URL") and listening("127.0.0.1", 5432)
    if local_postgres and ensure_postgres_database(DEFAULT_DATABASE_URL):
        env["DATABASE_URL"] = DEFAULT_DATABASE_URL
    if not env.get("REDIS_URL") and listening("127.0.0.1", 6379):
        env["REDIS_URL"] = DEFAULT_REDIS_URL
    database = "PostgreSQL" if env.get("DATABASE_URL") else "SQLite (var/supportdesk.sqlite3)"
    layer = "Redis channel layer and rq worker" if env.get("REDIS_URL") else (
        "in-memory channel layer, jobs run in process")
    return f"data stores: {database}; {layer}"


def manage(*args: str, env: dict) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    # A demo of its own, not DEBUG: demo data, mail printed to the log, static files from the apps.
    env = {"DEMO": "1", **os.environ}
    (BASE_DIR / "var" / "static").mkdir(parents=True, exist_ok=True)     # WhiteNoise warns when it is missing
    log.info(choose_stores(env))
    manage("migrate", "--no-input", "-v", "0", env=env)
    manage("seed_demo", "--force", "--keep-demo-mode", env=env)   # adds what is missing; edits and the switch stay
    host, port = env.get("HOST", "127.0.0.1"), int(env.get("PORT", "8000"))
    smtp_port = int(env.get("MAIL_SMTP_PORT", "2525"))
    if env.get("REDIS_URL"):
        children = start_web(host=host, port=port, env=env)
        children += [subprocess.Popen(command, cwd=BASE_DIR, env=env) for command in worker_commands(env)]
        # Mail in: the SMTP listener stores each message before it answers 250.
        children.append(subprocess.Popen(
            [sys.executable, "manage.py", "smtp_server", "--port", str(smtp_port)], cwd=BASE_DIR, env=env))
    else:
        children = [start_embedded(host=host, port=port, smtp_port=smtp_port, env=env)]
    log.info(where_to_go(host=host, port=port, smtp_port=smtp_port))
    return supervise(children)


def where_to_go(*, host: str, port: int, smtp_port: int) -> str:
    base = f"http://{host}:{port}"
    return "\n".join([
        f"serving {base}/",
        f"  agent console      {base}/console/   (sign in as agent_sv, agent_en, ... or manager)",
        f"  chat widget demo   {base}/widget/demo/",
        f"  manager's pages    {base}/console/manager/  and  {base}/reports/sla/",
        f"  API documentation  {base}/api/docs",
        f"  administration     {base}/admin/   (sign in as admin)",
        f"  mail in            SMTP {host}:{smtp_port}, or .venv/bin/python manage.py ingest_email FILE",
        "  an administrator of your own: .venv/bin/python manage.py createsuperuser",
    ])


def daphne_arguments(env: dict) -> list[str]:
    """daphne's access log writes a line per request, static file and socket: on only with ACCESS_LOG=1."""
    return ["--verbosity", "1" if env.get("ACCESS_LOG") == "1" else "0"]


def start_web(*, host: str, port: int, env: dict) -> list[subprocess.Popen]:
    """daphne processes sharing one listening socket; the kernel spreads connections over them.

    One per core by default (WEB_PROCESSES): measured, two processes halve the console
    fan-out and chat latency on two cores (bench/RESULTS.md). Only with Redis: the
    in-memory layer works inside one process (``start_embedded``).
    """
    count = int(env.get("WEB_PROCESSES", os.cpu_count() or 1))
    fd = listening_socket(host, port)
    return [subprocess.Popen([sys.executable, "-m", "daphne", *daphne_arguments(env), "--fd", str(fd),
                              "supportdesk.asgi:application"], cwd=BASE_DIR, env=env, pass_fds=(fd,))
            for _ in range(max(1, count))]


def start_embedded(*, host: str, port: int, smtp_port: int, env: dict, **popen) -> subprocess.Popen:
    """One process: daphne with the SMTP listener and the periodic jobs inside (supportdesk/serve.py)."""
    fd = listening_socket(host, port)
    return subprocess.Popen(
        [sys.executable, "-m", "supportdesk.serve", "--smtp-host", env.get("MAIL_SMTP_HOST", "127.0.0.1"),
         "--smtp-port", str(smtp_port), "--", *daphne_arguments(env), "--fd", str(fd),
         "supportdesk.asgi:application"], cwd=BASE_DIR, env=env, pass_fds=(fd,), **popen)


_listeners: list[socket.socket] = []


def listening_socket(host: str, port: int) -> int:
    """A listening socket the children inherit; this process keeps it open while they run."""
    listener = socket.create_server((host, port), backlog=1024)
    listener.set_inheritable(True)
    _listeners.append(listener)
    return listener.fileno()


def worker_commands(env: dict) -> list[list[str]]:
    """``manage.py worker``: the rq worker with its scheduler, and the cron scheduler it starts, at ``RQ_LOG_LEVEL``.

    rq logs every job at INFO: the periodic ticks alone wrote ten lines every 5 s and buried
    the desk's own log. Failures are logged at WARNING and above; ``RQ_LOG_LEVEL=INFO`` shows all.
    The worker sets its level from ``--verbosity``; the cron scheduler follows settings.LOGGING.
    """
    verbosity = {"DEBUG": "2", "INFO": "1"}.get(env.get("RQ_LOG_LEVEL", "WARNING").upper(), "0")
    return [[sys.executable, "manage.py", "worker", "--verbosity", verbosity]]


def cron_command() -> list[str]:
    """rq's cron scheduler on supportdesk.schedule's list (started by ``manage.py worker``)."""
    return [sys.executable, "manage.py", "rqcron", "supportdesk.cron"]


def worker_queues() -> list[str]:
    return ["default", "sla", "mail", "jira"]


def supervise(children: list[subprocess.Popen]) -> int:
    """Run until Ctrl-C or a child exits, then stop every child."""
    stop = {"requested": False}

    def request_stop(signum, frame):
        stop["requested"] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    exit_code = 0
    while not stop["requested"]:
        for child in children:
            if child.poll() is not None:
                log.error("%s exited with %s", " ".join(child.args[1:4]), child.returncode)
                stop["requested"], exit_code = True, child.returncode or 1
        time.sleep(0.5)
    for child in children:
        if child.poll() is None:
            child.terminate()
    for child in children:
        try:
            child.wait(timeout=10)
        except subprocess.TimeoutExpired:
            child.kill()
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
