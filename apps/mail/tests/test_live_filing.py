"""The live paths' filer: stored mail parsed ahead in worker processes (flow control: test_smtp_flow_control)."""

import os

import pytest
import time_machine

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
