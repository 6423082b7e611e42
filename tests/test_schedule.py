"""One list of periodic jobs, read by rq's cron scheduler and by the in-process ticker alike."""

from datetime import timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.utils import timezone
from django.utils.module_loading import import_string

from supportdesk import launcher
from supportdesk.schedule import PeriodicJob, Ticker, periodic_jobs

RAN: list[str] = []


def record_job():
    RAN.append("record")


def failing_job():
    RAN.append("failing")
    raise RuntimeError("broken on purpose")


@pytest.fixture(autouse=True)
def fresh_runs():
    RAN.clear()
    yield
    RAN.clear()


def test_every_periodic_job_is_importable_and_on_a_queue_the_worker_serves():
    for job in periodic_jobs():
        assert callable(import_string(job.func)), job
        assert job.queue in launcher.worker_queues(), job
        assert job.every_seconds > 0


def test_the_mail_jobs_are_in_the_list_and_imap_only_with_a_mailbox(settings):
    settings.IMAP_HOST = ""
    names = [job.name for job in periodic_jobs()]
    assert {"routing-tick", "sla-sweep", "chat-idle-end", "mail-pending"} <= set(names)
    assert "imap-poll" not in names
    settings.IMAP_HOST, settings.IMAP_POLL_SECONDS = "imap.example.com", 120
    imap = [job for job in periodic_jobs() if job.name == "imap-poll"]
    assert imap and imap[0].every_seconds == 120


def test_rq_cron_registers_the_same_list():
    from redis import Redis
    from rq.cron import CronScheduler

    scheduler = CronScheduler(connection=Redis())     # loading the file does not connect
    scheduler.load_config_from_file("supportdesk.cron")
    registered = {job.name: job for job in scheduler.get_jobs()}
    assert sorted(registered) == sorted(job.name for job in periodic_jobs())
    for job in periodic_jobs():
        assert registered[job.name].func_name == job.func
        assert (registered[job.name].queue_name, registered[job.name].interval) == (job.queue, job.every_seconds)


@pytest.mark.django_db
def test_the_ticker_runs_each_job_when_its_interval_has_passed():
    now = [100.0]
    ticker = Ticker([PeriodicJob("often", f"{__name__}.record_job", "default", 5)], clock=lambda: now[0])
    assert ticker.run_due() == ["often"]          # at once on start
    now[0] += 4.9
    assert ticker.run_due() == []
    now[0] += 0.1
    assert ticker.run_due() == ["often"]
    assert RAN == ["record", "record"]


@pytest.mark.django_db
def test_a_failing_job_is_logged_and_the_others_still_run(caplog):
    ticker = Ticker([PeriodicJob("broken", f"{__name__}.failing_job", "default", 5),
                     PeriodicJob("fine", f"{__name__}.record_job", "default", 5)])
    assert ticker.run_due() == ["broken", "fine"]
    assert RAN == ["failing", "record"]
    assert "periodic job broken failed" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_the_tick_command_files_mail_a_lost_job_left_stored(regions, queues):
    """Without Redis the ticker is the only thing that picks up stored, unprocessed mail."""
    from apps.mail import intake
    from apps.mail.models import InboundEmail
    from apps.tickets.models import Ticket

    raw = (b"From: Ada <ada@example.org>\r\nTo: support-eu@example.com\r\nSubject: Skrivaren\r\n"
           b"Message-ID: <tick-1@example.org>\r\n\r\nHej, skrivaren fungerar inte.\r\n")
    with time_machine.travel(timezone.now() - timedelta(minutes=10)):
        inbound = intake.receive_email(raw=raw, source=InboundEmail.Source.SMTP)   # its job was lost
    call_command("tick", "--once")
    inbound.refresh_from_db()
    assert inbound.ticket_id is not None
    assert Ticket.objects.filter(pk=inbound.ticket_id, subject="Skrivaren").exists()


def burst_worker():
    """``manage.py worker --burst`` in a process of its own, on this test's Redis and database."""
    import os
    import subprocess
    import sys

    from django.conf import settings
    from django.db import connection

    env = {**os.environ, "REDIS_URL": settings.REDIS_URL,
           "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
           if connection.vendor == "postgresql" else os.environ.get("DATABASE_URL", "")}
    done = subprocess.run([sys.executable, "manage.py", "worker", "--burst"], cwd=settings.BASE_DIR, env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done


@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_the_worker_in_burst_mode_runs_due_retries_and_drains_every_queue(redis_queues):
    """`manage.py worker --burst`: a job scheduled for the past is moved and run, with the queued ones."""
    from datetime import UTC, datetime

    queue = redis_queues.get_queue("mail")
    queue.enqueue_at(datetime(2020, 1, 1, tzinfo=UTC), "apps.outbox.jobs.deliver_due_job")    # a due retry
    redis_queues.get_queue("sla").enqueue("apps.desk.jobs.sweep_sla_job")
    assert "moved 1 due scheduled jobs; queues drained" in burst_worker().stdout
    assert queue.scheduled_job_registry.count == 0
    assert all(redis_queues.get_queue(name).count == 0 for name in launcher.worker_queues())


TURNS = "test:worker-turns"


def note_turn(queue: str) -> None:
    import django_rq

    django_rq.get_connection("default").rpush(TURNS, queue)


@pytest.mark.redis(reason="the worker's own order of queues")
@pytest.mark.django_db(transaction=True)       # jobs are queued on commit
def test_the_worker_takes_its_queues_in_turn(redis_queues):
    """A busy queue does not hold up the others (a phone line's steps, mail, Jira): one job of each in turn."""
    for queue in ("default", "default", "default", "mail", "jira"):
        redis_queues.get_queue(queue).enqueue("tests.test_schedule.note_turn", queue)
    burst_worker()
    turns = [turn.decode() for turn in redis_queues.get_connection("default").lrange(TURNS, 0, -1)]
    assert turns == ["default", "mail", "jira", "default", "default"]      # in queue order: default ×3 first
