"""The outbox delivers every row once, through a relay that defers and refuses, without losing one."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from aiosmtpd.controller import Controller
from django.db import transaction
from django.utils import timezone

from apps.mail.tests.conftest import free_port
from apps.outbox import registry
from apps.outbox import services as outbox
from apps.outbox.email import send_email_later
from apps.outbox.models import OutboxItem

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def jobs_held(monkeypatch):
    """The delivery jobs rows queue are held back: embedded, they would run at once, in the writing thread,
    and these tests drive delivery themselves. Returns the held (queue, job, ids)."""
    held = []
    monkeypatch.setattr(outbox, "enqueue_on_commit", lambda *args: held.append(args))
    return held


class DeferringRelay:
    """An SMTP stand-in that answers 451 to the first DATA of ``deferred_share`` of the messages (by Message-ID),
    refuses the recipients in ``gone`` with 550, and counts what it accepted."""

    def __init__(self, *, deferred_share: float = 0.0, gone: tuple[str, ...] = ()):
        self.deferred_share, self.gone = deferred_share, set(gone)
        self.accepted: dict[str, int] = {}
        self.deferred: set[str] = set()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.gone:
            return "550 5.1.1 No such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message_id = next(line.split(b":", 1)[1].strip().decode() for line in envelope.original_content.splitlines()
                          if line.lower().startswith(b"message-id:"))
        share = int(hashlib.sha256(message_id.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
        if share < self.deferred_share and message_id not in self.deferred:
            self.deferred.add(message_id)
            return "451 4.3.0 Try again later"
        self.accepted[message_id] = self.accepted.get(message_id, 0) + 1
        return "250 OK"


@pytest.fixture
def relay(settings):
    def start(**options) -> DeferringRelay:
        handler = DeferringRelay(**options)
        controller = Controller(handler, hostname="127.0.0.1", port=free_port())
        controller.start()
        started.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", controller.port, 5
        settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
        return handler

    started: list[Controller] = []
    yield start
    for controller in started:
        controller.stop()


def queue_mails(count: int, *, to: str = "ada@example.org") -> list[str]:
    ids = [f"<outbox-{number}@desk.example.com>" for number in range(count)]
    with transaction.atomic():
        for number, message_id in enumerate(ids):
            send_email_later(key=f"test:{number}", subject=f"Mail {number}", body="Hej.", to=[to],
                             headers={"Message-ID": message_id})
    return ids


def sweep_until_done(*, rounds: int = 20) -> int:
    """Run the sweep as the schedule does, moving the clock past each retry; returns the rounds it took."""
    now = timezone.now()
    for number in range(rounds):
        with time_machine.travel(now, tick=False):
            outbox.deliver_due()
        if not OutboxItem.objects.filter(status__in=[OutboxItem.Status.PENDING, OutboxItem.Status.SENDING]).exists():
            return number + 1
        now = max(OutboxItem.objects.filter(status=OutboxItem.Status.PENDING)
                  .values_list("next_attempt_at", flat=True)) + timedelta(seconds=1)
    raise AssertionError("the outbox did not empty")


def test_a_relay_deferring_30_percent_receives_each_mail_exactly_once(relay):
    handler = relay(deferred_share=0.3)
    ids = queue_mails(60)
    sweep_until_done()
    assert sorted(handler.accepted) == sorted(ids)
    assert set(handler.accepted.values()) == {1}
    assert 8 <= len(handler.deferred) <= 30                      # the stand-in really deferred some
    assert set(OutboxItem.objects.values_list("status", flat=True)) == {OutboxItem.Status.SENT}
    retried = OutboxItem.objects.filter(attempts=2).count()
    assert retried == len(handler.deferred)


def test_asking_twice_queues_one_mail_and_one_job(relay, jobs_held):
    handler = relay()
    queue_mails(1)
    queue_mails(1)
    assert [(queue, job) for queue, job, _ids in jobs_held] == [("mail", "apps.outbox.jobs.deliver_job")]
    sweep_until_done()
    assert list(handler.accepted.values()) == [1]


def test_a_refused_recipient_is_a_dead_letter_until_the_manager_retries_it(relay):
    handler = relay(gone=("gone@example.org",))
    [message_id] = queue_mails(1, to="gone@example.org")
    sweep_until_done()
    item = OutboxItem.objects.get()
    assert item.status == OutboxItem.Status.DEAD and "No such user" in item.last_error and item.attempts == 1

    handler.gone.clear()                       # the address was fixed at the other end
    assert outbox.retry(item_id=item.pk)
    assert not outbox.retry(item_id=item.pk)   # not dead any more
    sweep_until_done()
    assert handler.accepted == {message_id: 1}


def test_a_relay_that_stays_away_makes_a_dead_letter_after_the_time_limit(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", free_port(), 2
    settings.OUTBOX_MAX_AGE_SECONDS, settings.OUTBOX_RETRY_BASE_SECONDS = 3600, 60
    queue_mails(1)
    rounds = sweep_until_done()
    item = OutboxItem.objects.get()
    assert item.status == OutboxItem.Status.DEAD and "gave up after" in item.last_error
    assert 5 <= item.attempts == rounds <= 9     # 60 s doubling (with jitter) fills the hour in 6-8 tries


def test_retry_after_is_honoured_and_backoff_grows(settings):
    answers = [registry.Retry("busy", after=120), registry.Retry("busy again"), registry.Sent()]
    registry.register("test.flaky", lambda items: [answers.pop(0) for _ in items])
    item = outbox.send_later(kind="test.flaky", key="1", payload={})
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert outbox.deliver(item_ids=[item.pk]) == {"retry": 1}
    item.refresh_from_db()
    assert item.next_attempt_at == start + timedelta(seconds=120)
    with time_machine.travel(item.next_attempt_at, tick=False):
        outbox.deliver_due()
    item.refresh_from_db()
    wait = (item.next_attempt_at - (start + timedelta(seconds=120))).total_seconds()
    assert settings.OUTBOX_RETRY_BASE_SECONDS <= wait <= 2 * settings.OUTBOX_RETRY_BASE_SECONDS  # 2nd: 2×base
    with time_machine.travel(item.next_attempt_at, tick=False):
        assert outbox.deliver_due() == {"sent": 1}


def test_a_row_a_crashed_worker_left_sending_is_sent_again(relay, settings):
    handler = relay()
    [message_id] = queue_mails(1)
    OutboxItem.objects.update(status=OutboxItem.Status.SENDING, claimed_at=timezone.now(), attempts=1)
    assert outbox.deliver_due() == {}          # held by a worker that may still be sending
    later = timezone.now() + timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS + 1)
    with time_machine.travel(later, tick=False):
        assert outbox.deliver_due() == {"sent": 1, "reclaimed": 1}
    assert handler.accepted == {message_id: 1}


def test_a_rollback_leaves_no_row_and_no_job(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        try:
            with transaction.atomic():
                send_email_later(key="rolled-back", subject="x", body="y", to=["ada@example.org"])
                raise RuntimeError("the deciding work failed")
        except RuntimeError:
            pass
    assert not OutboxItem.objects.exists() and not callbacks


def test_an_unknown_kind_is_refused_when_written():
    with pytest.raises(ValueError, match="no deliverer"):
        outbox.send_later(kind="nobody.delivers.this", key="1", payload={})
