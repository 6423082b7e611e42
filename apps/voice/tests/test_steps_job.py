"""The voice worker's job: in the rq worker it pauses between batches and yields after a slice; in process not."""

import time

import pytest

from apps.voice.jobs import apply_steps_job
from apps.voice.models import Call
from apps.voice.tests.conftest import Caller
from conftest import returned_by, run_worker


def ring(client, count: int) -> None:
    """``count`` calls arriving, their steps stored and left for the job."""
    for n in range(count):
        Caller(client, sid=f"CA{n:032d}", number=f"+4670444{n:04d}").twiml("/voice/incoming", apply=False)


def test_in_process_the_job_applies_everything_at_once(client, regions, queues, open_hours, settings):
    """Embedded (or with Redis away) a webhook runs the job: a pause would keep a caller waiting."""
    settings.VOICE_STEPS_LINGER_MS = 60_000
    ring(client, 3)
    started = time.monotonic()
    assert apply_steps_job() == 3
    assert time.monotonic() - started < 30          # a pause between the rounds would take a minute
    assert Call.objects.count() == 3


@pytest.mark.redis(reason="the slice is the rq worker's: embedded, the job runs in process")
@pytest.mark.django_db(transaction=True)       # the job is queued on commit
@pytest.mark.parametrize(("slice_seconds", "jobs_applied"), [(60, [3]), (0, [0, 3])])
def test_in_the_worker_a_job_applies_steps_for_one_slice_then_queues_the_next(
        client, regions, queues, open_hours, settings, redis_queues, slice_seconds, jobs_applied):
    """Past its slice the job stops and queues another, which the worker takes after the other queues' turn."""
    settings.VOICE_STEPS_LINGER_MS, settings.VOICE_STEPS_SLICE_SECONDS = 0, slice_seconds
    ring(client, 3)             # the first step queues the job; it finds the three
    assert redis_queues.get_queue("default").count == 1
    run_worker("default")
    assert returned_by("default", "apps.voice.jobs.apply_steps_job") == jobs_applied
    assert Call.objects.count() == 3


@pytest.mark.redis(reason="the worker's other queues are rq's: embedded, the job runs in process")
@pytest.mark.django_db(transaction=True)       # the job is queued on commit
def test_in_the_worker_a_job_hands_over_after_a_batch_while_another_queue_has_a_job_waiting(
        client, regions, queues, open_hours, settings, redis_queues):
    """A busy phone line holds up mail, SLA and Jira for one batch, not a slice."""
    settings.VOICE_STEPS_LINGER_MS, settings.VOICE_STEPS_SLICE_SECONDS = 0, 60
    redis_queues.get_queue("mail").enqueue("apps.mail.jobs.process_pending_job")
    ring(client, 2)
    run_worker("default")       # the first job applies both steps, then sees the mail job waiting
    assert returned_by("default", "apps.voice.jobs.apply_steps_job") == [0, 2]
    assert redis_queues.get_queue("mail").count == 1
