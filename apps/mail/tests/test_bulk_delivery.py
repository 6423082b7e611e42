"""A batch's receipts go out in one mail job once the batch commits, to a real local SMTP sink."""

import pytest
from aiosmtpd.controller import Controller

from apps.mail import filing
from apps.mail.models import InboundEmail, OutboundEmail
from apps.mail.tests.conftest import Sink, build_email, free_port
from conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


class RefusingSink(Sink):
    """Refuses one recipient with 550, as a relay does for an address it knows is gone."""

    def __init__(self, refused: str):
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address == self.refused:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"


@pytest.fixture
def refusing_sink(settings):
    sink = RefusingSink("gone@example.org")
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    controller.stop()


def new_requests(*senders):
    return [build_email(sender=sender, subject=f"Fråga från {sender}", message_id=f"<{number}@client.example.org>")
            for number, sender in enumerate(senders)]


@pytest.mark.redis(reason="counts the jobs on the rq queue")
def test_a_batch_sends_its_receipts_in_one_mail_job(mailboxes, smtp_sink, redis_queues):
    results = list(filing.ingest_many(new_requests("ada@example.org", "bo@example.org", "cy@example.org"),
                                        source=InboundEmail.Source.FILE, batch_size=10))

    assert [r.outcome for r in results] == [InboundEmail.Outcome.NEW_TICKET] * 3
    assert redis_queues.get_queue("mail").count == 1
    run_worker("mail")
    assert sorted(m["To"] for m in smtp_sink.messages()) == ["ada@example.org", "bo@example.org", "cy@example.org"]
    assert set(OutboundEmail.objects.values_list("status", flat=True)) == {OutboundEmail.Status.SENT}


def test_a_refused_receipt_in_a_batch_is_marked_failed_and_the_others_are_sent(mailboxes, refusing_sink,
                                                                               redis_queues):
    list(filing.ingest_many(new_requests("ada@example.org", "gone@example.org", "cy@example.org"),
                              source=InboundEmail.Source.FILE, batch_size=10))

    run_worker("mail")

    assert sorted(m["To"] for m in refusing_sink.messages()) == ["ada@example.org", "cy@example.org"]
    statuses = dict(OutboundEmail.objects.values_list("to_address", "status"))
    assert statuses == {"ada@example.org": OutboundEmail.Status.SENT, "gone@example.org": OutboundEmail.Status.FAILED,
                        "cy@example.org": OutboundEmail.Status.SENT}
    failed = OutboundEmail.objects.get(to_address="gone@example.org")
    assert failed.attempts == 1 and "No such user" in failed.last_error


@pytest.mark.redis(reason="needs the job queued, not yet run: embedded, jobs run at commit")
def test_delivering_a_batch_again_sends_nothing_twice(mailboxes, smtp_sink, redis_queues):
    from apps.outbox import services as outbox
    from apps.outbox.models import OutboxItem

    list(filing.ingest_many(new_requests("ada@example.org", "bo@example.org"), source=InboundEmail.Source.FILE))
    ids = list(OutboxItem.objects.values_list("pk", flat=True))

    assert outbox.deliver(item_ids=ids) == {"sent": 2}
    assert outbox.deliver(item_ids=ids) == {}
    assert len(smtp_sink.messages()) == 2
