"""Shared fixtures: demo-like regions, queues, agents and contacts on the real database.

The suite runs twice (``make test``): on PostgreSQL with Redis, and embedded on SQLite with
the in-memory channel layer and jobs run in process. A test marked ``postgresql`` or
``redis`` needs that server and is skipped, with the marker's reason, where it is absent.
"""

from pathlib import Path

import pytest


def pytest_collection_modifyitems(config, items):
    from django.conf import settings
    from django.db import connection

    missing = {"postgresql": connection.vendor != "postgresql", "redis": not settings.REDIS_URL}
    for item in items:
        for name in (name for name, absent in missing.items() if absent):
            marker = item.get_closest_marker(name)
            if marker is not None:
                reason = marker.kwargs.get("reason") or f"needs {name}"
                item.add_marker(pytest.mark.skip(reason=f"{name} only: {reason}"))


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """An SQLite test database is a file under var/ (a fresh checkout has no var/ yet)."""
    from django.conf import settings

    name = settings.DATABASES["default"].get("TEST", {}).get("NAME")
    if settings.DATABASES["default"]["ENGINE"] == "supportdesk.sqlite" and name:
        Path(name).parent.mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts in the default language: a test client request with Accept-Language
    activates its language in this thread and leaves it active for the next test."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def fresh_configuration_memory():
    """The configuration a process remembers across requests starts empty: a row the last test wrote
    was rolled back, and its memory with it."""
    from supportdesk.readonce import forget

    forget()
    yield
    forget()


@pytest.fixture
def regions(db):
    """The policy's default regions, channel rules and SLA targets, as seed_demo installs them."""
    from apps.policy.defaults import install_default_policy

    return install_default_policy()


@pytest.fixture
def queues(db):
    from apps.policy.languages import Language
    from apps.routing.models import Queue

    return {(lang, kind): Queue.objects.create(language=lang, kind=kind, name=f"{lang} {kind}")
            for lang in Language.values for kind in Queue.Kind.values}


@pytest.fixture
def contact(regions, queues):
    from apps.tickets.models import Contact

    return Contact.objects.create(name="Ada Lind", email="ada@example.com", language="sv",
                                  region=regions["europe"])


@pytest.fixture
def agent(db):
    from django.contrib.auth import get_user_model

    from apps.accounts.services import make_agent

    user = get_user_model().objects.create_user("agent_sv", password="pw")
    make_agent(user=user, languages=["sv"], channels=["chat", "voice", "email"])
    return user


@pytest.fixture
def api_client(agent, client):
    """A test client sending a real staff bearer token."""
    from apps.accounts.services import create_api_token

    token = create_api_token(user=agent)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client


@pytest.fixture
def redis_queues(settings):
    """Empty rq queues on the test Redis (db 15), so a burst worker runs only this test's jobs.

    Embedded (no REDIS_URL) there are no queues: jobs run in process on commit, and
    ``run_worker`` has nothing left to do. Redis is never touched then (rq's fallback URL
    would be another desk's database).
    """
    if not settings.REDIS_URL:
        yield None
        return
    import django_rq

    connection = django_rq.get_connection("default")
    connection.flushdb()
    yield django_rq
    connection.flushdb()


@pytest.fixture
def flushed_layer(settings):
    """An empty channel layer: the test Redis flushed, or embedded, the in-memory layer emptied."""
    if settings.REDIS_URL:
        import redis

        redis.Redis.from_url(settings.REDIS_URL).flushdb()
    else:
        from asgiref.sync import async_to_sync
        from channels.layers import get_channel_layer

        async_to_sync(get_channel_layer().flush)()


def run_worker(*queues: str) -> None:
    """Run a real rq worker in burst mode until the queues are empty.

    SimpleWorker runs jobs in this process, so they see the test's database
    transaction and Django's test mail outbox.
    """
    import django_rq
    from django.conf import settings
    from rq import SimpleWorker

    if not settings.REDIS_URL:
        return      # embedded: supportdesk.jobs ran each job when it was enqueued
    django_rq.get_worker(*queues, worker_class=SimpleWorker).work(burst=True)


def returned_by(queue: str, func_name: str) -> list:
    """What the finished jobs of ``func_name`` on the rq ``queue`` returned, in ascending order."""
    import django_rq
    from rq.job import Job
    from rq.registry import FinishedJobRegistry

    rq_queue = django_rq.get_queue(queue)
    jobs = [Job.fetch(job_id, connection=rq_queue.connection)
            for job_id in FinishedJobRegistry(queue=rq_queue).get_job_ids()]
    return sorted(job.return_value() for job in jobs if job.func_name == func_name)
