"""Many messages at once (ingest_email FILE…): batches, worker processes, the same rules as one message."""

import hashlib
import io
import os

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.mail import filing, intake, parsing
from apps.mail.models import InboundEmail, MailReference, OutboundEmail
from apps.mail.tests.conftest import build_email
from apps.tickets.models import Message, Ticket, TicketEvent

Outcome = InboundEmail.Outcome
pytestmark = pytest.mark.usefixtures("mailboxes")
FROZEN = "2026-03-10 10:00 +00:00"


def ingest_many(raws, **kwargs):
    kwargs.setdefault("source", InboundEmail.Source.FILE)
    return list(filing.ingest_many(raws, **kwargs))


@time_machine.travel(FROZEN, tick=False)
def test_replies_to_a_message_earlier_in_the_same_batch_thread_onto_its_ticket():
    original = build_email(message_id="<b1@client.example.org>")
    # Colleagues in copy answer too: only the Message-IDs can thread their replies.
    replies = [
        build_email(sender="kollega@example.org", subject="Re: Krasch", body="Det hände igen.",
                    message_id="<b2@client.example.org>", in_reply_to="<b1@client.example.org>"),
        # Outlook: In-Reply-To names a message the desk never saw; References still carry the first one.
        build_email(sender="chef@example.org", subject="SV: Krasch", body="Och igen.",
                    message_id="<b3@client.example.org>", in_reply_to="<AM0@outlook.example>",
                    references="<b1@client.example.org> <AM0@outlook.example>"),
        # No threading headers at all: the same sender and subject.
        build_email(subject="Re: Krasch", body="Fortfarande.", message_id="<b4@client.example.org>"),
    ]

    results = ingest_many([original, *replies], batch_size=10)

    assert [r.outcome for r in results] == [Outcome.NEW_TICKET, Outcome.REPLY, Outcome.REPLY, Outcome.REPLY]
    assert {r.ticket_id for r in results} == {results[0].ticket_id}
    assert Ticket.objects.count() == 1
    assert results[0].ticket.messages.filter(direction=Message.Direction.INBOUND).count() == 4
    assert set(MailReference.objects.filter(direction=MailReference.Direction.INBOUND)
               .values_list("message_id", flat=True)) == {f"<b{n}@client.example.org>" for n in range(1, 5)}


@time_machine.travel(FROZEN, tick=False)
def test_a_reply_in_a_later_batch_threads_onto_a_ticket_opened_in_an_earlier_one():
    original = build_email(message_id="<c1@client.example.org>")
    other = build_email(sender="bo@example.org", subject="Annat", message_id="<c2@client.example.org>")
    reply = build_email(sender="kollega@example.org", subject="Re: Krasch", body="Igen.",
                        message_id="<c3@client.example.org>", in_reply_to="<c1@client.example.org>")

    first, _other, answer = ingest_many([original, other, reply], batch_size=2)

    assert answer.outcome == Outcome.REPLY and answer.ticket_id == first.ticket_id


@time_machine.travel(FROZEN, tick=False)
def test_the_same_message_id_twice_in_one_batch_is_one_message_and_two_raw_copies():
    raw = build_email(message_id="<twice@client.example.org>")
    again = raw.replace(b"From:", b"Received: by relay2\nFrom:")

    first, second = ingest_many([raw, again], batch_size=10)

    assert (first.outcome, second.outcome) == (Outcome.NEW_TICKET, Outcome.DUPLICATE)
    assert second.ticket_id == first.ticket_id and second.ticket_message_id == first.ticket_message_id
    assert Message.objects.filter(direction=Message.Direction.INBOUND).count() == 1
    stored = {bytes(row.raw): row.sha256 for row in InboundEmail.objects.all()}
    assert stored == {raw: hashlib.sha256(raw).hexdigest(), again: hashlib.sha256(again).hexdigest()}


@time_machine.travel(FROZEN, tick=False)
def test_a_message_already_filed_before_the_batch_is_a_duplicate():
    raw = build_email(message_id="<before@client.example.org>")
    single = filing.ingest_email(raw=raw, source=InboundEmail.Source.SMTP)

    (again,) = ingest_many([raw])

    assert again.outcome == Outcome.DUPLICATE and again.ticket_id == single.ticket_id


@time_machine.travel(FROZEN, tick=False)
def test_a_failing_batch_is_ingested_one_by_one_and_loses_no_neighbour(monkeypatch):
    real = filing.open_tickets

    def fails_on_one_message(requests):
        if any("poison" in request.body for request in requests):
            raise RuntimeError("simulated bug")
        return real(requests)

    monkeypatch.setattr(filing, "open_tickets", fails_on_one_message)
    raws = [build_email(sender=f"user{n}@example.org", subject=f"Fråga {n}", body=body,
                        message_id=f"<f{n}@client.example.org>")
            for n, body in enumerate(["Appen kraschar.", "poison pill", "Exporten hänger sig."])]

    results = ingest_many(raws, batch_size=10)

    assert [r.outcome for r in results] == [Outcome.NEW_TICKET, Outcome.UNPARSED, Outcome.NEW_TICKET]
    assert "simulated bug" in results[1].error and results[1].ticket.unparsed
    # The rolled-back attempt left nothing behind: three stored messages, three tickets.
    assert InboundEmail.objects.count() == 3
    assert Ticket.objects.count() == 3
    assert [bytes(InboundEmail.objects.get(pk=r.pk).raw) for r in results] == raws


def test_a_message_over_the_limit_is_reported_and_not_stored(settings):
    settings.MAIL_MAX_BYTES = 2000
    small = build_email(message_id="<small@client.example.org>")
    large = build_email(body="x" * 5000, message_id="<large@client.example.org>")

    results = ingest_many([small, large])

    assert results[0].outcome == Outcome.NEW_TICKET
    assert isinstance(results[1], intake.MessageTooLarge)
    assert InboundEmail.objects.count() == 1


def _parse_recording_pid(raw):
    parsed = parsing.parse_email(raw)
    parsed.headers["x-parsed-by"] = [str(os.getpid())]
    return parsed


def test_parse_many_parses_in_worker_processes_in_input_order(monkeypatch):
    # Forked workers see the patched function, so each result says which process parsed it.
    _parse_recording_pid.__module__, _parse_recording_pid.__qualname__ = parsing.__name__, "parse_or_error"
    monkeypatch.setattr(parsing, "parse_or_error", _parse_recording_pid)
    raws = [build_email(subject=f"Nummer {n}", message_id=f"<p{n}@client.example.org>") for n in range(12)]

    pooled = list(parsing.parse_many(raws, jobs=2, window=5))
    inline = list(parsing.parse_many(raws, jobs=1))

    assert [raw for raw, _parsed in pooled] == raws
    assert [parsed.subject for _raw, parsed in pooled] == [f"Nummer {n}" for n in range(12)]
    pids = {parsed.headers["x-parsed-by"][0] for _raw, parsed in pooled}
    assert str(os.getpid()) not in pids
    assert {parsed.headers["x-parsed-by"][0] for _raw, parsed in inline} == {str(os.getpid())}


def test_parse_many_returns_the_error_of_an_unparseable_message_in_its_place():
    raws = [build_email(message_id="<ok@x>"), b"\x00\x01 not mail", build_email(message_id="<ok2@x>")]

    results = [parsed for _raw, parsed in parsing.parse_many(raws, jobs=2, window=2)]

    assert isinstance(results[0], parsing.ParsedEmail) and isinstance(results[2], parsing.ParsedEmail)
    assert isinstance(results[1], parsing.UnparseableEmail)


@time_machine.travel(FROZEN, tick=False)
def test_ingest_email_with_jobs_files_a_folder_in_batches(tmp_path):
    folder = tmp_path / "export"
    folder.mkdir()
    messages = [build_email(message_id="<g1@client.example.org>"),
                build_email(sender="bo@example.org", subject="Annat", message_id="<g2@client.example.org>"),
                build_email(subject="Re: Krasch", body="Igen.", message_id="<g3@client.example.org>",
                            in_reply_to="<g1@client.example.org>"),
                build_email(message_id="<g1@client.example.org>")]
    for number, raw in enumerate(messages):
        (folder / f"{number:02d}.eml").write_bytes(raw)
    out = io.StringIO()

    call_command("ingest_email", str(folder), "--jobs", "2", "--batch-size", "3", "--no-progress", stdout=out)

    rows = list(InboundEmail.objects.order_by("pk"))
    assert [row.outcome for row in rows] == [Outcome.NEW_TICKET, Outcome.NEW_TICKET, Outcome.REPLY,
                                             Outcome.DUPLICATE]
    assert rows[2].ticket_id == rows[0].ticket_id == rows[3].ticket_id
    assert "4 messages" in out.getvalue()


def test_ingest_email_refuses_zero_jobs(tmp_path):
    (tmp_path / "one.eml").write_bytes(build_email())
    with pytest.raises(CommandError):
        call_command("ingest_email", str(tmp_path / "one.eml"), "--jobs", "0")


@time_machine.travel(FROZEN, tick=False)
def test_receipts_in_a_batch_keep_the_per_sender_limit_and_come_from_the_address_written_to(settings):
    settings.MAIL_RECEIPTS_PER_SENDER_PER_HOUR = 2
    before = build_email(subject="Första", message_id="<r0@client.example.org>")
    filing.ingest_email(raw=before, source=InboundEmail.Source.SMTP)
    batch = [build_email(subject=f"Fråga {n}", message_id=f"<r{n}@client.example.org>") for n in range(1, 4)]

    results = ingest_many(batch, batch_size=10)

    assert [r.outcome for r in results] == [Outcome.NEW_TICKET] * 3
    receipts = OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECEIPT)
    assert receipts.count() == 2  # one before the batch, one in it; then the limit
    assert set(receipts.values_list("from_address", flat=True)) == {"support-eu@example.com"}
    suppressed = TicketEvent.objects.filter(kind=TicketEvent.Kind.MESSAGE, data__event="receipt_suppressed")
    assert suppressed.count() == 2


# --- a batch holds its new tickets and writes them together ------------------------

def _new_mails(count: int, prefix: str) -> list[bytes]:
    """New mail from different people, each with one reply (by In-Reply-To) and one duplicate copy."""
    raws = []
    for n in range(count):
        original = build_email(sender=f"{prefix}{n}@example.org", subject=f"Fråga {n}",
                               message_id=f"<{prefix}{n}@client.example.org>")
        raws += [original,
                 build_email(sender=f"{prefix}{n}@example.org", subject=f"Re: Fråga {n}", body="Igen.",
                             message_id=f"<{prefix}{n}r@client.example.org>",
                             in_reply_to=f"<{prefix}{n}@client.example.org>"),
                 original.replace(b"From:", b"Received: by relay2\nFrom:")]
    return raws


@time_machine.travel(FROZEN, tick=False)
def test_a_batch_writes_its_new_tickets_replies_and_copies_in_statements_not_per_message():
    ingest_many(_new_mails(1, "warm"), batch_size=200)  # configuration reads and first-time inserts
    with CaptureQueriesContext(connection) as few:
        ingest_many(_new_mails(3, "few"), batch_size=200)
    with CaptureQueriesContext(connection) as many:
        results = ingest_many(_new_mails(30, "many"), batch_size=200)

    # Thirty new tickets, thirty replies and thirty copies cost what three of each cost.
    assert len(many.captured_queries) == len(few.captured_queries)
    assert [r.outcome for r in results[:3]] == [Outcome.NEW_TICKET, Outcome.REPLY, Outcome.DUPLICATE]
    for new, reply, copy in zip(results[::3], results[1::3], results[2::3], strict=True):
        assert reply.ticket_id == copy.ticket_id == new.ticket_id
        assert copy.ticket_message_id == new.ticket_message_id
        ticket = new.ticket
        assert [m.external_id for m in ticket.messages.filter(direction=Message.Direction.INBOUND)] == [
            new.message_id, reply.message_id]
        assert ticket.mail_thread.last_inbound_at == reply.received_at
        assert ticket.sla_targets.count() == 2
        assert OutboundEmail.objects.filter(ticket=ticket, kind=OutboundEmail.Kind.RECEIPT).count() == 1
        assert list(ticket.events.values_list("kind", flat=True)[:2]) == [TicketEvent.Kind.OPENED,
                                                                         TicketEvent.Kind.MESSAGE]


@time_machine.travel(FROZEN, tick=False)
def test_a_reply_to_a_reply_held_in_the_batch_threads_onto_the_first_ticket():
    raws = [build_email(message_id="<h1@client.example.org>"),
            build_email(sender="kollega@example.org", subject="Re: Krasch", body="Här också.",
                        message_id="<h2@client.example.org>", in_reply_to="<h1@client.example.org>"),
            build_email(sender="chef@example.org", subject="Re: Krasch", body="Vi tittar på det.",
                        message_id="<h3@client.example.org>", references="<h2@client.example.org>"),
            build_email(sender="chef@example.org", subject="Re: Krasch", body="Vi tittar på det.",
                        message_id="<h3@client.example.org>", references="<h2@client.example.org>")]

    first, second, third, copy = ingest_many(raws, batch_size=10)

    assert [r.outcome for r in (first, second, third, copy)] == [
        Outcome.NEW_TICKET, Outcome.REPLY, Outcome.REPLY, Outcome.DUPLICATE]
    assert {second.ticket_id, third.ticket_id, copy.ticket_id} == {first.ticket_id}
    assert copy.ticket_message_id == third.ticket_message_id is not None


@time_machine.travel(FROZEN, tick=False)
def test_an_auto_reply_to_a_ticket_opened_earlier_in_the_batch_is_a_note_on_it():
    original = build_email(message_id="<k1@client.example.org>")
    out_of_office = build_email(sender="kollega@example.org", subject="Frånvaro: Krasch", body="Jag är ledig.",
                                message_id="<k2@client.example.org>", in_reply_to="<k1@client.example.org>",
                                headers={"Auto-Submitted": "auto-replied"})

    first, auto = ingest_many([original, out_of_office], batch_size=10)

    assert (first.outcome, auto.outcome) == (Outcome.NEW_TICKET, Outcome.AUTOMATIC)
    assert auto.ticket_id == first.ticket_id
    assert auto.ticket_message.direction == Message.Direction.NOTE


def test_parse_many_parses_the_same_bytes_once():
    raw = build_email(message_id="<same@client.example.org>")
    results = [parsed for _raw, parsed in parsing.parse_many([raw, build_email(), raw], jobs=2, window=10)]

    assert results[0] is results[2] and results[1] is not results[0]


@time_machine.travel(FROZEN, tick=False)
def test_copies_of_the_same_bytes_from_the_desk_itself_each_say_why_once():
    raw = build_email(sender="support-eu@example.com", message_id="<loop@example.com>")

    first, second = ingest_many([raw, raw], jobs=2, batch_size=10)

    assert first.automatic_reasons == ["from-desk-address"]
    assert InboundEmail.objects.get(pk=second.pk).automatic_reasons == ["from-desk-address"]


@time_machine.travel(FROZEN, tick=False)
def test_importing_old_mail_with_no_receipts_opens_tickets_and_writes_to_nobody(tmp_path, monkeypatch):
    folder = tmp_path / "archive"
    folder.mkdir()
    for number in range(3):
        (folder / f"{number:02d}.eml").write_bytes(build_email(
            sender=f"user{number}@example.org", subject=f"Fråga {number}", message_id=f"<old{number}@example.org>"))
    (folder / "03.eml").write_bytes(b"\x00\x01 not mail")
    # A batch that fails is filed again one message at a time: that path sends no receipts either.
    real = filing.open_tickets
    calls = []

    def fails_once(requests):
        calls.append(len(requests))
        if len(calls) == 1:
            raise RuntimeError("simulated bug")
        return real(requests)

    monkeypatch.setattr(filing, "open_tickets", fails_once)

    call_command("ingest_email", str(folder), "--no-receipts", "--no-progress", "--jobs", "1", stdout=io.StringIO())

    assert Ticket.objects.count() == 4 and calls[0] == 3
    assert all(ticket.sla_targets.count() == 2 for ticket in Ticket.objects.all())
    assert not OutboundEmail.objects.exists()
    assert not Message.objects.filter(direction=Message.Direction.OUTBOUND).exists()
