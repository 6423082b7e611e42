"""The Redis cache keeps one connection pool per process, however many request contexts use it."""

import asyncio
import contextvars

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import caches


@pytest.mark.redis(reason="counts Redis connections")
def test_request_contexts_share_the_process_connections(monkeypatch):
    from redis.connection import AbstractConnection

    asked = []              # every connection asked to connect (kept, so their ids stay unique)
    connect = AbstractConnection.connect
    monkeypatch.setattr(AbstractConnection, "connect", lambda self: (asked.append(self), connect(self))[1])

    def one_request(n: int):
        cache = caches["default"]
        cache.add(f"test-cache:{n}", n, timeout=5)
        return cache

    async def requests():
        # As an ASGI server runs them: each request a task, each task a context of its own.
        return await asyncio.gather(*(asyncio.create_task(sync_to_async(one_request)(n)) for n in range(30)))

    # A fresh context, as a server's: what earlier code stored in this one (a cache object) is not inherited.
    used = contextvars.Context().run(asyncio.run, requests())
    assert len({id(cache) for cache in used}) == 30           # Django's cache objects stay per context
    assert caches["default"].get_many([f"test-cache:{n}" for n in range(30)]) == {
        f"test-cache:{n}": n for n in range(30)}
    # One pool for the process: at most one connection per thread that ran a request. Before, one per request.
    assert len({id(connection) for connection in asked}) <= 2
