"""Group sends from synchronous code without a new event loop per call.

``async_to_sync`` outside an event loop makes a fresh loop per call, and the Redis
channel layers open new connections per loop: ~10 ms a send. One long-lived loop
thread per process keeps the layer's connection warm. Callers wait for the send,
so a worker process that exits right after its job loses nothing.
"""

import asyncio
import logging
import os
import threading
import uuid

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.cache import cache

log = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 5
EPOCH_KEY = "console:push-epoch"


class _LoopThread:
    def __init__(self):
        self.loop = None
        self.pid = None
        self.lock = threading.Lock()

    def get(self) -> asyncio.AbstractEventLoop:
        with self.lock:
            # A forked child (an rq work horse) has no copy of the thread: start its own.
            if self.loop is None or self.pid != os.getpid():
                self.loop = asyncio.new_event_loop()
                self.pid = os.getpid()
                threading.Thread(target=self.loop.run_forever, name="console-push", daemon=True).start()
            return self.loop


_loop_thread = _LoopThread()


async def _send_all(layer, sends: list[tuple[str, dict]]) -> None:
    for group, message in sends:
        await layer.group_send(group, message)


def anyone_listening() -> bool:
    """False only when it is certain no socket could receive: an in-memory layer with no groups here."""
    layer = get_channel_layer()
    if layer is None:
        return False
    return not isinstance(layer, InMemoryChannelLayer) or any(layer.groups.values())


def group_send_many(sends: list[tuple[str, dict]]) -> None:
    """Send (group, message) pairs in order."""
    layer = get_channel_layer()
    if layer is None or not sends:
        return
    if isinstance(layer, InMemoryChannelLayer):
        # In-memory groups live in this process only: skip those nobody here listens to.
        sends = [(group, message) for group, message in sends if layer.groups.get(group)]
        if sends:
            # The in-memory layer lives on the server's own loop; asgiref routes there.
            async_to_sync(_send_all)(layer, sends)
        return
    future = asyncio.run_coroutine_threadsafe(_send_all(layer, sends), _loop_thread.get())
    future.result(timeout=SEND_TIMEOUT_SECONDS)


def push_epoch() -> str | None:
    """Names the Redis that carries pushes; a new name means it came back empty (restarted), so
    pushes published around then may be lost. None: Redis cannot be reached, pushes are failing.

    The cache and the channel layer share REDIS_URL. One read per console heartbeat.
    """
    try:
        return cache.get_or_set(EPOCH_KEY, lambda: uuid.uuid4().hex, timeout=None)
    except Exception:
        log.warning("push epoch unknown: the cache failed", exc_info=True)
        return None
