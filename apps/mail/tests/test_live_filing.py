"""The live paths' filer: stored mail parsed ahead in worker processes, and the SMTP listener's flow control."""

import os

import pytest
import time_machine
from django.utils import timezone

from apps.mail import filing, intake, parsing
from apps.mail.models import InboundEmail
from apps.mail.tests.conftest import build_email

Outcome = InboundEmail.Outcome
pytestmark = pytest.mark.usefixtures("mailboxes")
FROZEN = "2026-03-10 10:00 +00:00"


def store(*raws: bytes) -> list[InboundEmail]:
    return [intake.receive_email(raw=raw, source=InboundEmail.Source.SMTP) for raw in raws]


def _parse_naming_its_process(raw):
    parsed = parsing.parse_or_error(raw)
    parsed.subject = f"{parsed.subject} [{os.getpid()}]"
    return parsed


@time_machine.travel(FROZEN, tick=False)
def test_the_filer_parses_the_next_batch_in_worker_processes_and_threads_replies_across_batches(monkeypatch):
    # Forked workers look the function up by name: patched there too, each subject names its parser.
    _parse_naming_its_process.__module__, _parse_naming_its_process.__qualname__ = filing.__name__, "parse_or_error"
    monkeypatch.setattr(filing, "parse_or_error", _parse_naming_its_process)
    original = build_email(subject="Krasch", message_id="<l1@client.example.org>")
    others = [build_email(sender=f"user{n}@example.org", subject=f"Fråga {n}", message_id=f"<l{n}@client.example.org>")
              for n in range(2, 6)]
    reply = build_email(sender="kollega@example.org", subject="Re: Krasch", body="Igen.",
                        message_id="<l9@client.example.org>", in_reply_to="<l1@client.example.org>")
    stored = store(original, *others, reply)

    assert filing.file_pending(batch_size=2, processes=2) == 6

    rows = {row.pk: row for row in InboundEmail.objects.select_related("ticket")}
    filed = [rows[inbound.pk] for inbound in stored]
    assert [row.outcome for row in filed] == [Outcome.NEW_TICKET] * 5 + [Outcome.REPLY]
    assert filed[-1].ticket_id == filed[0].ticket_id            # the reply came three batches later
    parsers = {row.subject.rsplit("[", 1)[1].rstrip("]") for row in filed}
    assert str(os.getpid()) not in parsers and parsers          # parsed in the workers, not in the filer


@time_machine.travel(FROZEN, tick=False)
def test_the_filer_in_one_process_files_the_same_way():
    stored = store(build_email(message_id="<m1@client.example.org>"),
                   build_email(sender="b@example.org", subject="Re: Krasch", message_id="<m2@client.example.org>",
                               in_reply_to="<m1@client.example.org>"))

    assert filing.file_pending(batch_size=1, processes=1) == 2

    first, second = (InboundEmail.objects.get(pk=inbound.pk) for inbound in stored)
    assert (first.outcome, second.outcome) == (Outcome.NEW_TICKET, Outcome.REPLY)
    assert second.ticket_id == first.ticket_id


@pytest.fixture
def backlog(settings):
    """Three messages stored, not filed; a worker files them, not the listener."""
    settings.REDIS_URL = settings.REDIS_URL or "redis://127.0.0.1:6379/15"
    settings.MAIL_BACKLOG_LIMIT = 1
    settings.MAIL_BACKLOG_MAX_WAIT_SECONDS = 30
    return store(*(build_email(message_id=f"<q{n}@client.example.org>") for n in range(3)))


def the_worker_files(rows, pauses):
    def one_at_each_pause(seconds):
        pauses.append(seconds)
        InboundEmail.objects.filter(pk=rows[len(pauses) - 1].pk).update(
            outcome=Outcome.NEW_TICKET, processed_at=timezone.now())
    return one_at_each_pause


def test_the_listener_holds_its_answer_while_more_than_the_limit_waits_to_be_filed(backlog, monkeypatch):
    pauses = []
    monkeypatch.setattr(intake.time, "sleep", the_worker_files(backlog, pauses))

    intake.hold_while_backlogged()

    assert pauses == [intake.BACKLOG_POLL_SECONDS] * 2      # 3 waiting, then 2: held; 1 is within the limit


def test_the_listener_answers_at_once_within_the_limit_embedded_or_after_the_longest_wait(
        backlog, settings, monkeypatch):
    monkeypatch.setattr(intake.time, "sleep", lambda seconds: pytest.fail("held"))
    settings.MAIL_BACKLOG_LIMIT = 3
    intake.hold_while_backlogged()                    # 3 waiting, limit 3

    settings.MAIL_BACKLOG_LIMIT = 1
    settings.MAIL_BACKLOG_MAX_WAIT_SECONDS = 0
    intake.hold_while_backlogged()                    # held no longer than the longest wait

    settings.MAIL_BACKLOG_MAX_WAIT_SECONDS = 30
    settings.MAIL_BACKLOG_LIMIT = 0
    intake.hold_while_backlogged()                    # flow control off

    settings.MAIL_BACKLOG_LIMIT = 1
    settings.REDIS_URL = ""
    intake.hold_while_backlogged()                    # embedded: the storing thread files, nothing builds up
