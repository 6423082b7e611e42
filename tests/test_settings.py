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
    assert result.stdout.split() == ["django.db.backends.sqlite3", "channels.layers.InMemoryChannelLayer",
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
