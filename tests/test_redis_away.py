"""With Redis stopped, work the desk stores answers 2xx and nothing is lost; with Redis back, all of it goes out.

A redis-server of the test's own is stopped and started again by its PID; the desk's
queues, cache and channel layer point at it.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from apps.accounts.services import make_agent
from apps.mail.models import InboundEmail, OutboundEmail
from apps.mail.tests.conftest import build_email
from apps.outbox.models import OutboxItem
from apps.outbox.services import deliver_due
from apps.tickets.models import Message, Ticket
from tests.browser.conftest import PrivateRedis

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.redis]


@pytest.fixture
def desk_on_its_own_redis(settings, regions, queues):
    redis = PrivateRedis()
    redis.start()
    settings.REDIS_URL = redis.url
    settings.RQ_QUEUES = {name: {**config, "URL": redis.url} for name, config in settings.RQ_QUEUES.items()}
    settings.CACHES = {"default": {**settings.CACHES["default"], "LOCATION": redis.url}}
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                                           "CONFIG": {"hosts": [redis.url], "prefix": "away"}}}
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MAIL_INBOUND_SECRET = "s3cret"
    yield redis
    if redis.process.poll() is None:
        redis.stop()


@pytest.fixture
def agent_sv(db):
    user = get_user_model().objects.create_user("agent_sv", password="pw", is_staff=True)
    make_agent(user=user, languages=["sv"], channels=["chat", "email"])
    return user


def post_inbound(client, raw: bytes):
    return client.post("/email/inbound", data=raw, content_type="message/rfc822", HTTP_X_MAIL_SECRET="s3cret")


def test_mail_in_a_reply_out_and_the_offline_form_work_while_redis_is_away(
        desk_on_its_own_redis, client, agent_sv, caplog):
    desk_on_its_own_redis.stop()
    raw = build_email(sender="ada@example.org", subject="Skrivaren", body="Hej, skrivaren fungerar inte.",
                      message_id="<away-1@client.example.org>")
    first = post_inbound(client, raw)
    assert first.status_code in (200, 201, 202), first.content
    again = post_inbound(client, raw)                     # a provider's retry: recorded, filed once
    assert again.status_code in (200, 201, 202)
    first_copy, second_copy = InboundEmail.objects.order_by("pk")
    ticket = first_copy.ticket
    assert first_copy.outcome == InboundEmail.Outcome.NEW_TICKET
    assert second_copy.outcome == InboundEmail.Outcome.DUPLICATE
    assert Ticket.objects.count() == 1

    client.force_login(agent_sv)
    reply = client.post(f"/console/tickets/{ticket.reference}/reply/", {"body": "Vi tittar på det."})
    assert reply.status_code == 302
    assert Message.objects.filter(ticket=ticket, body_text="Vi tittar på det.").exists()

    offline = client.post("/api/chat/offline", data={
        "language": "sv", "name": "Bo Ek", "email": "bo@example.org", "message": "Hur byter jag licens?",
        "request_id": "form-1"}, content_type="application/json")
    assert offline.status_code == 201, offline.content
    assert "Redis is away" in caplog.text

    assert Ticket.objects.filter(contact__email="bo@example.org").exists()
    # The jobs ran here instead: the receipt and the reply went out (SMTP was up), once each.
    assert sorted(m.subject for m in mail.outbox) == sorted(OutboundEmail.objects.values_list("subject", flat=True))
    assert [m.to for m in mail.outbox] == [["ada@example.org"], ["ada@example.org"]]
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {OutboundEmail.Status.SENT}


def test_what_smtp_could_not_take_while_redis_was_away_goes_out_after_both_are_back(
        desk_on_its_own_redis, client, settings):
    from apps.mail.tests.conftest import free_port

    desk_on_its_own_redis.stop()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    assert post_inbound(client, build_email(message_id="<away-2@client.example.org>")).status_code < 300
    assert OutboxItem.objects.get().status == OutboxItem.Status.PENDING       # stored, waiting

    desk_on_its_own_redis.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    OutboxItem.objects.update(next_attempt_at=OutboxItem.objects.get().created_at)    # its retry is due
    assert deliver_due() == {"sent": 1}
    assert [m.to for m in mail.outbox] == [["ada@example.org"]]
