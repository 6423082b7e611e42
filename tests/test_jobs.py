"""Queueing a job reuses the process's Redis connections instead of opening new ones per job."""

import pytest

from supportdesk import jobs


@pytest.mark.redis(reason="counts Redis connections")
def test_jobs_share_the_process_connections(redis_queues, monkeypatch):
    from redis.connection import AbstractConnection

    asked = []              # every connection asked to connect (kept, so their ids stay unique)
    connect = AbstractConnection.connect
    monkeypatch.setattr(AbstractConnection, "connect", lambda self: (asked.append(self), connect(self))[1])
    for _ in range(25):
        jobs.enqueue("default", "apps.console.jobs.routing_tick_job")
    assert redis_queues.get_queue("default").count == 25
    # One pool for the process (rq holds a pipeline's connection while it asks on another); before, one per job.
    assert len({id(connection) for connection in asked}) <= 2
