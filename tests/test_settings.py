"""Settings fail loudly where a default would be unsafe."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_settings(**env):
    dropped = {"SECRET_KEY", "DEBUG", "DATABASE_URL", "REDIS_URL"}
    clean = {k: v for k, v in os.environ.items() if k not in dropped}
    return subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
         "'supportdesk.settings'); django.setup(); from django.conf import settings; "
         "print(settings.DATABASES['default']['ENGINE'], settings.CHANNEL_LAYERS['default']['BACKEND'], "
         "bool(settings.REDIS_URL), settings.TIME_ZONE, settings.USE_TZ)"],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)


def setting_values(expression: str, **env) -> str:
    """``expression`` evaluated on the settings a fresh process loads from ``env`` alone."""
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG", "DEMO", "PUBLIC_BASE_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", "import django, os; os.environ.setdefault('DJANGO_SETTINGS_MODULE', "
         f"'supportdesk.settings'); django.setup(); from django.conf import settings as s; print({expression})"],
        cwd=ROOT, env={**clean, **env}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_debug_is_off_unless_asked_for(tmp_path):
    key_file = str(tmp_path / "secret_key")
    assert setting_values("s.DEBUG, s.DEMO", SECRET_KEY_FILE=key_file) == "False False"
    assert setting_values("s.DEBUG", SECRET_KEY_FILE=key_file, DEBUG="1") == "True"


def test_an_unset_secret_key_is_generated_once_and_kept_private(tmp_path):
    key_file = tmp_path / "var" / "secret_key"
    first = setting_values("s.SECRET_KEY", SECRET_KEY_FILE=str(key_file))
    assert len(first) >= 50 and "insecure" not in first
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert setting_values("s.SECRET_KEY", SECRET_KEY_FILE=str(key_file), DEBUG="1") == first
    assert setting_values("s.SECRET_KEY", SECRET_KEY_FILE=str(key_file), SECRET_KEY="given") == "given"


def test_processes_starting_together_read_one_whole_generated_key(tmp_path):
    """The two test runs of ``make test`` (and a server beside its worker) start at the same moment:
    each must read the one key, never an empty or half-written file."""
    from concurrent.futures import ThreadPoolExecutor

    from supportdesk.env import generated_secret

    for attempt in range(20):
        key_file = tmp_path / str(attempt) / "secret_key"
        with ThreadPoolExecutor(8) as pool:
            keys = set(pool.map(generated_secret, [key_file] * 8))
        assert len(keys) == 1 and len(keys.pop()) >= 50
        assert [path.name for path in key_file.parent.iterdir()] == ["secret_key"]
        assert key_file.stat().st_mode & 0o777 == 0o600


def test_cookies_are_secure_and_https_enforced_only_when_users_reach_the_desk_over_https(tmp_path):
    key_file = str(tmp_path / "secret_key")
    fields = "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS > 0"
    assert setting_values(fields, SECRET_KEY_FILE=key_file, DEMO="1") == "False False False False"
    assert setting_values(fields, SECRET_KEY_FILE=key_file,
                          PUBLIC_BASE_URL="https://desk.example.com") == "True True True True"


def test_the_demo_prints_mail_and_serves_static_files_without_debug(tmp_path):
    fields = "s.EMAIL_BACKEND, s.WHITENOISE_USE_FINDERS"
    assert setting_values(fields, SECRET_KEY_FILE=str(tmp_path / "key"), DEMO="1") == \
        "django.core.mail.backends.console.EmailBackend True"
    assert setting_values(fields, SECRET_KEY_FILE=str(tmp_path / "key")) == \
        "django.core.mail.backends.smtp.EmailBackend False"


def test_a_malformed_boolean_names_the_variable():
    result = load_settings(DEMO="maybe")
    assert "DEMO must be a boolean" in result.stderr


def test_debug_is_on_only_for_1(tmp_path):
    key = str(tmp_path / "key")
    assert [setting_values("s.DEBUG", SECRET_KEY_FILE=key, DEBUG=value)
            for value in ("1", " 1 ", "0", "true", "2", "maybe", "")] == ["True", "True"] + ["False"] * 5


def test_embedded_defaults_without_database_or_redis():
    result = load_settings()
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["supportdesk.sqlite", "channels.layers.InMemoryChannelLayer",
                                     "False", "UTC", "True"]


def test_postgres_and_redis_when_their_urls_are_set():
    result = load_settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/x", REDIS_URL="redis://127.0.0.1:6379/3")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == ["django.db.backends.postgresql",
                                         "channels_redis.pubsub.RedisPubSubChannelLayer", "True"]
    core = load_settings(DATABASE_URL="postgres://postgres@127.0.0.1:5432/x", REDIS_URL="redis://127.0.0.1:6379/3",
                         CHANNEL_LAYER="core")
    assert core.stdout.split()[1] == "channels_redis.core.RedisChannelLayer"


def test_the_api_documentation_needs_no_internet(client):
    """/api/docs loads Swagger UI from the desk's own static files, not from a CDN."""
    import re

    page = client.get("/api/docs").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert any(source.startswith("/static/ninja/swagger-ui") for source in sources), sources
    assert not [source for source in sources if source.startswith(("http://", "https://", "//"))], sources
    assert client.get(next(s for s in sources if s.endswith(".js"))).status_code == 200


def compose_environment(**given) -> dict:
    """The desk's environment in docker/compose.yaml, with ``given`` as the operator's shell variables."""
    import re

    text = (ROOT / "docker" / "compose.yaml").read_text()
    block = text.split("  environment:\n", 1)[1].split("\n  volumes:", 1)[0]
    env = {}
    for key, value in re.findall(r"^    (\w+): (.*)$", block, flags=re.MULTILINE):
        match = re.fullmatch(r"\$\{(\w+):([-?])(.*)\}", value)
        if not match:
            env[key] = value
        elif match[1] in given:
            env[key] = given[match[1]]
        elif match[2] == "-":
            env[key] = match[3]
    return env


def test_the_compose_deployment_passes_djangos_deployment_checks(tmp_path):
    from django.core.management.utils import get_random_secret_key

    env = compose_environment(SECRET_KEY=get_random_secret_key(), PUBLIC_BASE_URL="https://desk.example.com",
                              ALLOWED_HOSTS="desk.example.com")
    assert env["DEBUG"] == "0" and "PUBLIC_BASE_URL" in env
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "DEMO", "EMAIL_BACKEND"}}
    done = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                          cwd=ROOT, env={**clean, **env, "MEDIA_ROOT": str(tmp_path)}, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout


def test_compose_runs_the_worker_with_its_schedulers():
    text = (ROOT / "docker" / "compose.yaml").read_text()
    assert 'command: ["python", "manage.py", "worker"]' in text


WRITERS = """
import threading, time, django
django.setup()
from django.db import connection, transaction

connection.cursor().execute("CREATE TABLE counter (n INTEGER)")
print(connection.cursor().execute("PRAGMA journal_mode").fetchone()[0])
first_in = threading.Event()

def first():
    with transaction.atomic():
        connection.cursor().execute("INSERT INTO counter VALUES (1)")
        first_in.set()
        time.sleep(1)           # holds the write lock; the second writer must wait, not fail
    connection.close()

def second():
    first_in.wait()
    with transaction.atomic():
        n = connection.cursor().execute("SELECT count(*) FROM counter").fetchone()[0]
        connection.cursor().execute("INSERT INTO counter VALUES (%s)", [n + 1])
    connection.close()

threads = [threading.Thread(target=first), threading.Thread(target=second)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
print(*[row[0] for row in connection.cursor().execute("SELECT n FROM counter ORDER BY n").fetchall()])
"""


def test_sqlite_writers_wait_for_each_other_and_readers_go_on(tmp_path):
    """Embedded, several threads write one SQLite file: WAL, transactions that take the write lock
    when they begin (a read-then-write cannot fail halfway), and a writer waits for the one before."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", WRITERS], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**clean, "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
             "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite3'}"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["wal", "1", "2"]
