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


def test_secret_key_is_required_when_debug_is_off():
    result = load_settings(DEBUG="0")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_malformed_boolean_names_the_variable():
    result = load_settings(DEBUG="maybe")
    assert "DEBUG must be a boolean" in result.stderr


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
