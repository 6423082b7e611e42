"""The live paths' filer: stored mail parsed ahead in worker processes (flow control: test_smtp_flow_control)."""

import os
import signal
import time

import pytest
import time_machine
from django.db import transaction

from apps.mail import filing, intake, parse_pool, parsing, selectors
from apps.mail.models import InboundEmail
from apps.mail.tests.conftest import build_email

Outcome = InboundEmail.Outcome
pytestmark = pytest.mark.usefixtures("mailboxes")
FROZEN = "2026-03-10 10:00 +00:00"


@pytest.fixture(autouse=True)
def fresh_parse_pool():
    """Each test forks its own parse workers (after its patches), and none outlives it."""
    parse_pool.discard()
    yield
    parse_pool.discard()


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


@time_machine.travel(FROZEN, tick=False)
def test_the_parse_workers_outlive_a_filing_job_and_serve_the_next_ones():
    store(*(build_email(sender=f"user{n}@example.org", subject=f"Fråga {n}") for n in range(3)))
    assert filing.file_pending(batch_size=2, processes=2) == 3
    workers = parse_pool.pool(2)
    pids = set(workers._processes)

    for n in range(6):   # one filing job per message, as a quiet listener queues them
        store(build_email(sender=f"later{n}@example.org", subject=f"Senare {n}"))
        assert filing.file_pending(batch_size=2, processes=2) == 1

    assert parse_pool.pool(2) is workers and set(workers._processes) == pids
    assert InboundEmail.objects.filter(outcome=Outcome.NEW_TICKET).count() == 9


@time_machine.travel(FROZEN, tick=False)
def test_a_parse_worker_that_died_costs_a_parse_in_the_filer_not_a_hang():
    store(build_email(subject="Först", message_id="<d0@client.example.org>"))
    filing.file_pending(batch_size=2, processes=2)
    workers = parse_pool.pool(2)
    for process in list(workers._processes.values()):
        os.kill(process.pid, signal.SIGKILL)
        process.join()
    stored = store(build_email(message_id="<d1@client.example.org>"),
                   build_email(sender="b@example.org", subject="Re: Krasch", message_id="<d2@client.example.org>",
                               in_reply_to="<d1@client.example.org>"))

    assert filing.file_pending(batch_size=5, processes=2) == 2

    first, reply = (InboundEmail.objects.get(pk=inbound.pk) for inbound in stored)
    assert (first.outcome, reply.outcome, reply.ticket_id) == (Outcome.NEW_TICKET, Outcome.REPLY, first.ticket_id)
    assert parse_pool.pool(2) is not workers                 # a new pool for the next batch


TEST_PROCESS = os.getpid()


def _parse_stuck_in_the_workers(raw):
    if os.getpid() != TEST_PROCESS:
        time.sleep(30)
    return parsing.parse_or_error(raw)


@time_machine.travel(FROZEN, tick=False)
def test_a_stuck_parse_worker_delays_its_batch_by_the_deadline_not_the_job_timeout(monkeypatch):
    _parse_stuck_in_the_workers.__module__, _parse_stuck_in_the_workers.__qualname__ = filing.__name__, "parse_or_error"
    monkeypatch.setattr(filing, "parse_or_error", _parse_stuck_in_the_workers)
    monkeypatch.setattr(parse_pool, "RESULT_SECONDS", 0.5)
    stored = store(build_email(message_id="<s1@client.example.org>"))
    began = time.monotonic()

    assert filing.file_pending(batch_size=5, processes=2) == 1

    assert time.monotonic() - began < 10
    assert InboundEmail.objects.get(pk=stored[0].pk).outcome == Outcome.NEW_TICKET


@time_machine.travel(FROZEN, tick=False)
def test_the_next_claim_takes_the_rows_parsed_ahead_not_those_stored_since():
    parsed_ahead = store(build_email(subject="Ett"), build_email(sender="b@example.org", subject="Två"))
    with filing.ParseAhead(2) as ahead:
        ahead.start(selectors.pending_inbound().values_list("pk", "sha256", "raw"))
        store(build_email(sender="c@example.org", subject="Tre"))   # came in while the parse ran

        with transaction.atomic():
            claimed = ahead.claim(batch_size=5, older_than=None)
            parsed = ahead.results(claimed)

    assert [inbound.pk for inbound in claimed] == [inbound.pk for inbound in parsed_ahead]
    assert [parsed[inbound.pk].subject for inbound in parsed_ahead] == ["Ett", "Två"]
    assert filing.file_pending(batch_size=5, processes=2) == 3


@time_machine.travel(FROZEN, tick=False)
def test_past_its_time_the_filer_stops_after_one_batch_at_least():
    store(*(build_email(sender=f"slice{n}@example.org", subject=f"Fråga {n}", message_id=f"<s{n}@client.example.org>")
            for n in range(3)))
    assert filing.file_pending(batch_size=1, until=lambda: True) == 1
    assert selectors.pending_inbound().count() == 2


@time_machine.travel(FROZEN, tick=False)
def test_a_kept_parse_ahead_hands_the_next_batch_to_the_next_call_and_only_for_the_same_bytes():
    """A filing job that hands over leaves its next batch parsed: the next job files that parse, but
    only for the bytes it was made from (a row that differs is parsed again)."""
    store(*(build_email(sender=f"kept{n}@example.org", subject=f"Fråga {n}", message_id=f"<k{n}@client.example.org>")
            for n in range(3)))
    ahead = filing.ParseAhead(2)
    assert filing.file_pending(batch_size=1, until=lambda: True, processes=2, ahead=ahead) == 1
    assert ahead.pending is not None                 # the next batch, parsing meanwhile
    [(kept_pk, _sha)] = ahead.pending[0]
    with transaction.atomic():
        claimed = ahead.claim(batch_size=1, older_than=None)
        parsed = ahead.results(claimed)
    assert [inbound.pk for inbound in claimed] == [kept_pk] and parsed[kept_pk].subject == "Fråga 1"

    ahead.start(selectors.pending_inbound().exclude(pk=kept_pk).values_list("pk", "sha256", "raw"))
    [(other_pk, _sha)] = ahead.pending[0]
    changed = build_email(sender="kept2@example.org", subject="Ändrad", message_id="<k2@client.example.org>")
    InboundEmail.objects.filter(pk=other_pk).update(**{key: value for key, value in intake.raw_fields(changed).items()
                                                       if key in ("raw", "size", "sha256")})
    with transaction.atomic():
        claimed = ahead.claim(batch_size=1, older_than=None)
        assert ahead.results(claimed)[other_pk].subject == "Ändrad"


@pytest.mark.redis(reason="the slice is the rq worker's: embedded, the job runs in process")
@pytest.mark.django_db(transaction=True)       # the job is queued on commit
@pytest.mark.parametrize(("slice_seconds", "jobs_filed"), [(60, [3]), (0, [0, 1, 1, 1])])
@time_machine.travel(FROZEN, tick=False)
def test_a_filing_job_files_for_one_slice_then_hands_on_to_the_next(settings, redis_queues, slice_seconds, jobs_filed):
    """Under steady mail a job stops after its slice and queues the next, which the worker takes in turn
    with its other queues' jobs; a job that found nothing queues none."""
    from conftest import returned_by, run_worker

    settings.MAIL_FILING_SLICE_SECONDS, settings.MAIL_FILING_BATCH, settings.MAIL_PARSE_PROCESSES = slice_seconds, 1, 1
    store(*(build_email(sender=f"slice{n}@example.org", subject=f"Fråga {n}", message_id=f"<j{n}@client.example.org>")
            for n in range(3)))
    intake.queue_filing()
    run_worker("mail")
    assert returned_by("mail", "apps.mail.jobs.file_pending_job") == jobs_filed      # not the receipts' jobs
    assert not selectors.pending_inbound().exists()


@pytest.mark.redis(reason="the worker's other queues are rq's: embedded, the job runs in process")
@pytest.mark.django_db(transaction=True)       # the job is queued on commit
@time_machine.travel(FROZEN, tick=False)
def test_a_filing_job_hands_over_after_one_batch_while_another_queue_has_a_job_waiting(settings, redis_queues):
    """A flood of mail no longer holds up a caller's steps for a whole slice: one batch, then the job
    queues its follow-up and the worker takes the waiting job of the other queue first."""
    from conftest import returned_by, run_worker

    settings.MAIL_FILING_SLICE_SECONDS, settings.MAIL_FILING_BATCH, settings.MAIL_PARSE_PROCESSES = 60, 1, 1
    store(*(build_email(sender=f"turn{n}@example.org", subject=f"Fråga {n}", message_id=f"<t{n}@client.example.org>")
            for n in range(3)))
    redis_queues.get_queue("default").enqueue("apps.voice.jobs.apply_steps_job")   # a caller's steps, say
    intake.queue_filing()
    run_worker("mail")                 # the default queue's job stays waiting: every mail job hands over
    assert returned_by("mail", "apps.mail.jobs.file_pending_job") == [0, 1, 1, 1]
    assert not selectors.pending_inbound().exists()
