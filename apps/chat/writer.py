"""Group commit for chat messages: one transaction for everything that arrived meanwhile.

Each server process has one writer per event loop. A message is written at once when
nothing is in flight; messages that arrive during a write wait for it and are stored
together in the next one, so under load a commit (and its fsync) carries many messages
and when idle there is no added delay. A caller's await returns after the commit and
after the batch's pushes to the other side are published, in one round trip to Redis.

On PostgreSQL the batch goes through ``fast_store`` on the writer's own asyncio
connection; what the fast path leaves (lines that change the ticket) and any batch it
could not write go through ``services.store_messages`` in the sync thread, so a lost
database connection delays messages and never drops them.
"""

import asyncio
import contextlib
import logging
import os
import time
import weakref

from channels.db import database_sync_to_async
from django.utils.translation import gettext as _

from apps.chat import events, fast_store, services

log = logging.getLogger(__name__)

MAX_BATCH = 500
WRITES_IN_FLIGHT = int(os.environ.get("CHAT_WRITES_IN_FLIGHT", "1"))
# 8 ms: at 500 conversations (1,000 lines/s on two processes) batches grew from ~2.5 to ~5
# lines and PostgreSQL + daphne used ~0.18 of a core less than with 3 ms (bench/RESULTS.md).
LINGER_SECONDS = float(os.environ.get("CHAT_WRITE_LINGER_MS", "8")) / 1000
LINGER_UNDER = 20
STATS_ENABLED = bool(os.environ.get("CHAT_WRITER_STATS"))
STATS: list = []


class MessageWriter:
    """Up to ``WRITES_IN_FLIGHT`` batches at once, each on its own connection.

    One write at a time left the writer waiting on round trips while messages queued;
    the conversation row lock keeps concurrent batches in one order per conversation.
    """

    def __init__(self):
        self.pending: list[tuple[services.Outgoing, asyncio.Future]] = []
        self.in_flight = 0
        self.idle_connections: list = []

    async def submit(self, item: services.Outgoing):
        future = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if self.in_flight < WRITES_IN_FLIGHT:
            self.in_flight += 1
            asyncio.ensure_future(self._drain())
        return await future

    async def _drain(self):
        busy = False
        try:
            while self.pending:
                if busy and len(self.pending) < LINGER_UNDER:
                    # Under load, a few milliseconds' wait fills the batch: a one-line write costs
                    # PostgreSQL 0.6 ms of CPU per line, a six-line write 0.18 ms per line.
                    await asyncio.sleep(LINGER_SECONDS)
                batch, self.pending = self.pending[:MAX_BATCH], self.pending[MAX_BATCH:]
                busy = True
                started = time.monotonic()
                stored_at = await self._write(batch)
                if STATS_ENABLED:
                    STATS.append((len(batch), time.monotonic() - started, stored_at - started))
        finally:
            self.in_flight -= 1

    async def _fast(self, items):
        if not fast_store.enabled():
            return [None] * len(items)
        connection = self.idle_connections.pop() if self.idle_connections else None
        try:
            if connection is None or connection.closed:
                connection = await fast_store.connect()
            if connection is None:
                return [None] * len(items)
            results = await fast_store.store(connection, items)
        except Exception:
            log.warning("fast chat write of %d failed; using the services", len(items), exc_info=True)
            if connection is not None:
                with contextlib.suppress(Exception):      # it is going away either way
                    await connection.close()
            return [None] * len(items)
        self.idle_connections.append(connection)
        return results

    async def _write(self, batch):
        items = [item for item, _future in batch]
        results = await self._fast(items)
        rest = [index for index, result in enumerate(results) if result is None]
        if rest:
            for index, result in zip(rest, await self._slow([items[index] for index in rest])):
                results[index] = result
        stored_at = time.monotonic()
        # Stored before pushed: the whole batch's pushes go out together, then the senders hear.
        await events.publish([push for result in results if isinstance(result, services.Stored)
                              for push in events.stored_pushes(result)])
        for (_item, future), result in zip(batch, results):
            if not future.done():
                future.set_result(result)
        return stored_at

    async def _slow(self, items):
        try:
            return await database_sync_to_async(services.store_messages)(items)
        except Exception:
            if len(items) == 1:
                log.exception("storing a chat message failed")
                return [services.Refused("unavailable", _("The message could not be stored; please send it again."),
                                         items[0].client_id)]
            # One bad message must not fail its neighbours: store them one at a time.
            log.warning("a chat batch of %d failed; retrying one by one", len(items), exc_info=True)
            return [(await self._slow([item]))[0] for item in items]


_writers: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, MessageWriter]" = weakref.WeakKeyDictionary()


def writer() -> MessageWriter:
    loop = asyncio.get_running_loop()
    if loop not in _writers:
        _writers[loop] = MessageWriter()
        if STATS_ENABLED:
            asyncio.ensure_future(_report())
    return _writers[loop]


def close_connections() -> None:
    """Drop every writer's database connection now (tests: before the test database goes)."""
    for writer_ in list(_writers.values()):
        connections, writer_.idle_connections = writer_.idle_connections, []
        for connection in connections:
            if not connection.closed:
                connection.pgconn.finish()


async def _report():
    """CHAT_WRITER_STATS=1: every 5 s, log batch sizes, write times, the event loop's lag
    and the collector's pauses (benchmark diagnostics)."""
    import gc

    pauses: list = []
    started: dict = {}

    def on_gc(phase, info):
        if phase == "start":
            started["at"] = time.monotonic()
        else:
            pauses.append((info["generation"], time.monotonic() - started.pop("at", time.monotonic())))

    gc.callbacks.append(on_gc)
    while True:
        lags, until = [], time.monotonic() + 5
        while time.monotonic() < until:
            before = time.monotonic()
            await asyncio.sleep(0.01)
            lags.append(time.monotonic() - before - 0.01)
        lags.sort()
        full = [seconds for generation, seconds in pauses if generation == 2]
        gc_line = (f"gc {len(pauses)} passes {1000 * sum(s for _g, s in pauses):.0f} ms, "
                   f"{len(full)} full, longest {1000 * max((s for _g, s in pauses), default=0):.0f} ms")
        pauses.clear()
        if STATS:
            count, items, busy = len(STATS), sum(s[0] for s in STATS), sum(s[1] for s in STATS)
            longest, storing = max(s[1] for s in STATS), sum(s[2] for s in STATS)
            STATS.clear()
            log.warning("writer %s: %d writes, %.1f messages each, %.1f ms each (storing %.1f, longest %.0f), "
                        "busy %.0f%%; loop lag p99 %.1f max %.1f ms; %s", os.getpid(), count, items / count,
                        1000 * busy / count, 1000 * storing / count, 1000 * longest, 100 * busy / 5,
                        1000 * lags[int(len(lags) * 0.99)], 1000 * lags[-1], gc_line)
