"""Shared fixtures: demo-like regions, queues, agents and contacts on the real database."""

import pytest


@pytest.fixture(autouse=True)
def default_language():
    """Every test starts in the default language: a test client request with Accept-Language
    activates its language in this thread and leaves it active for the next test."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


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
def redis_queues():
    """Empty rq queues on the test Redis (db 15), so a burst worker runs only this test's jobs."""
    import django_rq

    connection = django_rq.get_connection("default")
    connection.flushdb()
    yield django_rq
    connection.flushdb()


def run_worker(*queues: str) -> None:
    """Run a real rq worker in burst mode until the queues are empty.

    SimpleWorker runs jobs in this process, so they see the test's database
    transaction and Django's test mail outbox.
    """
    import django_rq
    from rq import SimpleWorker

    django_rq.get_worker(*queues, worker_class=SimpleWorker).work(burst=True)
