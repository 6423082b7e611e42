"""Fixtures of the Jira tests: the stand-in, an owner with an extension, the manager who is alerted."""

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.jira_sync.tests.standin import JiraStandIn
from apps.outbox import services as outbox
from apps.owners.models import Extension, ExtensionOwner


@pytest.fixture(autouse=True)
def deliveries_by_the_sweep(monkeypatch, settings):
    """Each test drives delivery itself (embedded mode would deliver inline at commit)."""
    monkeypatch.setattr(outbox, "enqueue_on_commit", lambda *args: None)
    settings.JIRA_RETRY_BASE_SECONDS = 30
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


@pytest.fixture
def jira():
    with JiraStandIn(deployment="Cloud") as standin:
        standin.require_auth(basic=("desk@example.org", "s3cret-token"))
        yield standin


@pytest.fixture
def acme(db):
    owner = ExtensionOwner.objects.create(name="Acme Plugins", slug="acme")
    return Extension.objects.create(name="Acme Charts", slug="acme-charts", owner=owner)


@pytest.fixture
def manager(db):
    user = get_user_model().objects.create_user("usm", email="usm@example.com")
    make_agent(user=user, languages=["sv"], channels=["email"], manager=True)
    return user
