"""Group sends from synchronous code without a new event loop per call.

``async_to_sync`` outside an event loop makes a fresh loop per call, and the Redis
channel layers open new connections per loop: ~10 ms a send. One long-lived loop
thread per process keeps the layer's connection warm. Callers wait for the send,
so a worker process that exits right after its job loses nothing.

With Redis, consoles may be open in any process, so each open console keeps a shared mark
alive (``LISTENING_KEY``, refreshed by its heartbeat). While no mark is there no console is
open anywhere, and writers skip building pushes nobody would receive (at night, or a mail
import with the desk closed): a console that opens later starts from its cursor.
"""

import asyncio
import logging
import os
import threading
import time
import uuid

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.cache import cache

log = logging.getLogger(__name__)
SEND_TIMEOUT_SECONDS = 5
EPOCH_KEY = "console:push-epoch"
LISTENING_KEY = "console:listening"
# console.js sends a heartbeat every 20 s, but a browser throttles a hidden tab's timers to once a minute:
# the mark outlives two of those. A lapse is repaired anyway (the console resyncs), only later.
LISTENING_SECONDS = 150
# A mark seen is believed this long in a process without asking Redis again; an absent one never is.
LISTENING_BELIEVED_SECONDS = 5


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


class _Listening:
    """When this process last saw the shared mark of an open console (monotonic seconds)."""

    seen_at = float("-inf")


def anyone_listening() -> bool:
    """False only when it is certain no console could receive: an in-memory layer with no groups here,
    or no console's mark in Redis. When Redis cannot say, True: the push is tried (and its failure logged)."""
    layer = get_channel_layer()
    if layer is None:
        return False
    if isinstance(layer, InMemoryChannelLayer):
        return any(layer.groups.values())
    if time.monotonic() - _Listening.seen_at < LISTENING_BELIEVED_SECONDS:
        return True
    try:
        listening = cache.get(LISTENING_KEY) is not None
    except Exception:
        log.warning("could not read whether a console is open; pushing anyway", exc_info=True)
        return True
    if listening:
        _Listening.seen_at = time.monotonic()
    return listening


def console_listening() -> bool:
    """An open console says so (on connect, before it reads its cursor, and at each heartbeat).

    Returns False when the mark had gone (expired, or Redis lost it) while this console was open:
    pushes may have been skipped meanwhile, so the console should resync from its cursor.
    """
    try:
        if cache.touch(LISTENING_KEY, LISTENING_SECONDS):
            return True
        cache.set(LISTENING_KEY, 1, LISTENING_SECONDS)
    except Exception:
        log.warning("could not mark a console open", exc_info=True)
    return False


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
