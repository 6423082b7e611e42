"""`make run`'s worker and cron scheduler log what matters: a job that fails, not every job that runs."""

import os
import subprocess
import time

import pytest

from supportdesk import launcher


def run_worker_in_burst(env: dict, settings) -> str:
    """The worker command `make run` starts, for one pass over a queue holding one good and one bad job."""
    import django_rq

    queue = django_rq.get_queue("default")
    queue.empty()
    queue.enqueue("apps.console.jobs.routing_tick_job")
    queue.enqueue("supportdesk.no_such_module.job")
    command = launcher.worker_commands({**env, "REDIS_URL": settings.REDIS_URL})[0]
    command = command + ["--burst"]
    assert command[2:4] == ["worker", "--verbosity"]
    done = subprocess.run(command, cwd=launcher.BASE_DIR, env={**env, "REDIS_URL": settings.REDIS_URL},
                          capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis(reason="runs make run's rq worker")
def test_the_worker_logs_failures_and_not_every_job_unless_asked(settings):
    from django.db import connection

    env = {key: value for key, value in os.environ.items() if key != "RQ_LOG_LEVEL"}
    env["DATABASE_URL"] = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
    quiet = run_worker_in_burst(env, settings)
    assert "no_such_module" in quiet and "routing_tick_job" not in quiet
    chatty = run_worker_in_burst({**env, "RQ_LOG_LEVEL": "info"}, settings)
    assert "routing_tick_job" in chatty and "no_such_module" in chatty



def cron_log(env: dict) -> str:
    """What the cron scheduler `make run` starts writes until it has enqueued its first tick."""
    import django_rq

    queue = django_rq.get_queue("default")
    queue.empty()
    process = subprocess.Popen(launcher.cron_command(), cwd=launcher.BASE_DIR, env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while not queue.count and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)               # the line after the enqueue
    process.terminate()
    assert queue.count, "the scheduler enqueued nothing"
    return process.communicate(timeout=30)[0]


@pytest.mark.redis(reason="runs make run's rq scheduler")
def test_the_cron_scheduler_does_not_log_every_tick_unless_asked(settings):
    env = {key: value for key, value in os.environ.items() if key != "RQ_LOG_LEVEL"}
    env["REDIS_URL"] = settings.REDIS_URL
    assert "Enqueued job routing_tick_job" not in cron_log(env)
    assert "Enqueued job routing_tick_job" in cron_log({**env, "RQ_LOG_LEVEL": "info"})


@pytest.mark.django_db(transaction=True)
@pytest.mark.redis(reason="runs make run's rq worker")
def test_the_worker_runs_below_the_servers_priority(settings):
    """On shared cores the servers (webhooks, sockets) come first: the worker and its cron run niced."""
    import psutil
    from django.db import connection

    env = {**os.environ, "REDIS_URL": settings.REDIS_URL, "WORKER_NICE": "7",
           "DATABASE_URL": "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)}
    command = launcher.worker_commands(env)[0]
    worker = subprocess.Popen(command, cwd=launcher.BASE_DIR, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        process = psutil.Process(worker.pid)
        deadline = time.monotonic() + 60
        while not process.children() and time.monotonic() < deadline:   # the cron scheduler started
            time.sleep(0.2)
        assert process.children(), "the worker did not start its cron scheduler"
        assert process.nice() == os.nice(0) + 7
        assert {child.nice() for child in process.children()} == {os.nice(0) + 7}
    finally:
        os.killpg(worker.pid, 15)
        worker.wait(timeout=30)
