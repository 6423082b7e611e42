"""The manager sees what the desk gave up sending, says what it is, and sends it again; agents see nothing."""

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.outbox import services as outbox
from apps.outbox.email import send_email_later
from apps.outbox.models import OutboxItem

pytestmark = pytest.mark.django_db


@pytest.fixture
def dead_letter(monkeypatch):
    monkeypatch.setattr(outbox, "enqueue_on_commit", lambda *args: None)
    item = send_email_later(key="notice-1", subject="SLA: SD-000042", body="…", to=["gone@example.org"])
    OutboxItem.objects.filter(pk=item.pk).update(status=OutboxItem.Status.DEAD, attempts=3,
                                                 last_error="SMTPRecipientsRefused: 550 No such user")
    return item


def user(name, *, manager):
    account = get_user_model().objects.create_user(name, password="pw", is_staff=True)
    make_agent(user=account, languages=["sv"], channels=["email"], manager=manager)
    return account


def test_the_manager_lists_a_dead_letter_and_sends_it_again(client, dead_letter):
    client.force_login(user("manager", manager=True))
    page = client.get("/console/outbox/").content.decode()
    assert "Mail to gone@example.org: SLA: SD-000042" in page and "550 No such user" in page
    assert 'href="/console/outbox/"' in client.get("/console/manager/").content.decode()

    assert client.post(f"/console/outbox/{dead_letter.pk}/retry/").status_code == 302
    dead_letter.refresh_from_db()
    assert dead_letter.status == OutboxItem.Status.PENDING
    assert "Nothing undelivered." in client.get("/console/outbox/").content.decode()


def test_agents_cannot_see_or_retry_dead_letters(client, dead_letter):
    client.force_login(user("agent_sv", manager=False))
    assert client.get("/console/outbox/").status_code == 403
    assert client.post(f"/console/outbox/{dead_letter.pk}/retry/").status_code == 403
    dead_letter.refresh_from_db()
    assert dead_letter.status == OutboxItem.Status.DEAD


def test_a_retry_needs_a_post(client, dead_letter):
    client.force_login(user("manager", manager=True))
    assert client.get(f"/console/outbox/{dead_letter.pk}/retry/").status_code == 405
