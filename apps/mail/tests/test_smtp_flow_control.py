"""The SMTP listener's flow control and group commit, over real sockets.

While more than ``MAIL_BACKLOG_LIMIT`` stored messages wait to be filed, a sender's 250
waits (its message already stored); a held sender never holds up another sender's store;
messages that arrive together are stored in one transaction, each answered after it.
"""

import smtplib
import threading
import time

import pytest
from django.db import connection
from django.utils import timezone

from apps.mail import intake
from apps.mail.models import InboundEmail
from apps.mail.smtp import ACCEPTED, TEMPORARY_FAILURE, TOO_LARGE, Arrived, store_messages
from apps.mail.tests.conftest import build_email

DESK = "support-eu@example.com"


@pytest.fixture(autouse=True)
def backlog_of_one(settings):
    """Set before the listener (``conftest.listener``) starts: autouse fixtures come first."""
    settings.MAIL_BACKLOG_LIMIT = 1
    settings.MAIL_BACKLOG_MAX_WAIT_SECONDS = 30


@pytest.fixture
def backlog(regions, redis_queues):
    """Three messages stored and not filed: no worker runs in these tests."""
    return [intake.receive_email(raw=build_email(message_id=f"<b{n}@client.example.org>"),
                                 source=InboundEmail.Source.SMTP) for n in range(3)]


class Sender(threading.Thread):
    """One SMTP client sending one message; ``answered_at`` is set once it has its answer."""

    def __init__(self, port: int, sender: str):
        super().__init__(daemon=True)
        self.port, self.sender = port, sender
        self.client = smtplib.SMTP("127.0.0.1", port, timeout=30)
        self.refused: dict | None = None
        self.answered_at: float | None = None

    def run(self):
        with self.client:
            self.refused = self.client.sendmail(self.sender, [DESK], build_email(sender=self.sender))
        self.answered_at = time.monotonic()


def stored_from(sender: str) -> bool:
    return InboundEmail.objects.filter(envelope_from=sender).exists()


def wait_for(condition, seconds: float = 5) -> bool:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def file_everything():
    InboundEmail.objects.filter(processed_at__isnull=True).update(
        outcome=InboundEmail.Outcome.NEW_TICKET, processed_at=timezone.now())


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis(reason="embedded, filing runs in the storing thread and nothing is held")
def test_a_sender_is_held_after_its_message_is_stored_until_the_backlog_is_within_the_limit(backlog, listener):
    ada = Sender(listener, "ada@example.org")
    ada.start()

    assert wait_for(lambda: stored_from("ada@example.org"))
    time.sleep(0.3)
    assert ada.answered_at is None                      # stored, and held: 4 wait, the limit is 1

    filed_at = time.monotonic()
    file_everything()                                   # the worker catches up
    ada.join(timeout=5)
    assert ada.refused == {}
    assert ada.answered_at - filed_at < 1               # one poll of 50 ms away, not a second


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis(reason="embedded, filing runs in the storing thread and nothing is held")
def test_a_held_sender_does_not_hold_up_another_senders_store(backlog, listener):
    ada, bob = Sender(listener, "ada@example.org"), Sender(listener, "bob@example.org")
    ada.start()
    assert wait_for(lambda: stored_from("ada@example.org"))

    bob.start()

    assert wait_for(lambda: stored_from("bob@example.org"), seconds=3)   # stored while ada is held
    assert ada.answered_at is None and bob.answered_at is None          # both held, both stored
    file_everything()
    ada.join(timeout=5)
    bob.join(timeout=5)
    assert (ada.refused, bob.refused) == ({}, {})


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis(reason="embedded, filing runs in the storing thread and nothing is held")
def test_a_sender_is_held_no_longer_than_the_longest_wait(backlog, listener, settings):
    settings.MAIL_BACKLOG_MAX_WAIT_SECONDS = 0
    ada = Sender(listener, "ada@example.org")
    ada.start()
    ada.join(timeout=5)

    assert ada.refused == {}
    assert InboundEmail.objects.filter(processed_at__isnull=True).count() == 4   # answered with the backlog there


@pytest.mark.django_db(transaction=True)
def test_nothing_is_held_with_flow_control_off_or_embedded(backlog, listener, settings):
    settings.MAIL_BACKLOG_LIMIT = 0
    ada = Sender(listener, "ada@example.org")
    ada.start()
    ada.join(timeout=5)
    assert ada.refused == {}

    settings.MAIL_BACKLOG_LIMIT = 1
    settings.REDIS_URL = ""          # embedded: the storing thread files what is pending before it answers
    assert intake.backlog_limit() == 0
    bob = Sender(listener, "bob@example.org")
    bob.start()
    bob.join(timeout=5)
    assert bob.refused == {}
    assert not InboundEmail.objects.filter(processed_at__isnull=True).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.postgresql(reason="reads the transaction that wrote each row (xmin)")
def test_messages_sent_at_once_are_stored_together_each_answered_after_its_commit(regions, listener, settings):
    settings.MAIL_BACKLOG_LIMIT = 0
    senders = [Sender(listener, f"user{n}@example.org") for n in range(8)]   # connected, then all send at once
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join(timeout=10)

    assert [sender.refused for sender in senders] == [{}] * 8
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(DISTINCT xmin::text) FROM mail_inboundemail")
        transactions = cursor.fetchone()[0]
    assert transactions < 8


@pytest.mark.django_db(transaction=True)   # as the store thread runs: in autocommit
def test_a_message_that_cannot_be_stored_does_not_fail_those_stored_with_it(regions, redis_queues, settings):
    settings.MAIL_MAX_BYTES = 20_000
    fine = build_email(sender="ada@example.org")
    messages = [Arrived(raw=fine, mail_from="ada@example.org", rcpt_tos=[DESK]),
                Arrived(raw=build_email(body="x" * 30_000), mail_from="big@example.org", rcpt_tos=[DESK]),
                Arrived(raw=fine, mail_from="nul\x00@example.org", rcpt_tos=[DESK]),   # PostgreSQL refuses NUL
                Arrived(raw=fine, mail_from="bob@example.org", rcpt_tos=[DESK])]

    answers = store_messages(messages)

    nul_stored = connection.vendor != "postgresql"
    assert answers == [ACCEPTED, TOO_LARGE, ACCEPTED if nul_stored else TEMPORARY_FAILURE, ACCEPTED]
    assert set(InboundEmail.objects.values_list("envelope_from", flat=True)) == (
        {"ada@example.org", "bob@example.org"} | ({"nul\x00@example.org"} if nul_stored else set()))
