"""`make run`'s worker logs what matters: a job that fails, not every job that runs."""

import os
import subprocess

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
    command = [part for part in command if part != "--with-scheduler"] + ["--burst"]
    assert command[2:4] == ["rqworker", "--verbosity"]
    done = subprocess.run(command, cwd=launcher.BASE_DIR, env={**env, "REDIS_URL": settings.REDIS_URL},
                          capture_output=True, text=True, timeout=60)
    return done.stdout + done.stderr


@pytest.mark.django_db(transaction=True)
def test_the_worker_logs_failures_and_not_every_job_unless_asked(settings):
    from django.db import connection

    env = {key: value for key, value in os.environ.items() if key != "RQ_LOG_LEVEL"}
    env["DATABASE_URL"] = "postgres://{USER}@{HOST}:{PORT}/{NAME}".format(**connection.settings_dict)
    quiet = run_worker_in_burst(env, settings)
    assert "no_such_module" in quiet and "routing_tick_job" not in quiet
    chatty = run_worker_in_burst({**env, "RQ_LOG_LEVEL": "info"}, settings)
    assert "routing_tick_job" in chatty and "no_such_module" in chatty
    assert launcher.worker_commands({"RQ_LOG_LEVEL": "info"})[1][-2:] == ["--logging-level", "INFO"]
