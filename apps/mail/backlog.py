"""The SMTP listener's flow control: senders wait for their "250" while the filing backlog is over the limit.

It runs on the listener's event loop, apart from the thread that stores: a held sender's
message is already stored, and while it waits the store thread keeps storing the other
senders' mail. One poll serves every held sender, at most every ``POLL_SECONDS``, so
eight held senders cost one count query, not eight.
"""

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)

POLL_SECONDS = 0.05
# A reading stays good for a quick pass this long: only this listener's stores raise the
# backlog between readings (counted below), but IMAP, webhooks and other listeners add too.
READING_SECONDS = 1.0


class BacklogGate:
    """Holds callers of ``wait`` while more than ``limit()`` stored messages wait to be filed.

    ``count(at_most)`` reads the backlog (a database query, so it runs off the loop).
    Each message this listener stores is reported with ``stored``: a reading plus the
    messages stored since it was taken bounds the backlog from above (filing only lowers
    it), so within the limit a sender passes with no query at all. A caller is released
    once a reading is within the limit, or after ``max_wait()`` seconds: the message is
    stored either way, the hold only paces the sender.
    """

    def __init__(self, *, count: Callable[[int], Awaitable[int]], limit: Callable[[], int],
                 max_wait: Callable[[], float]):
        self.count, self.limit, self.max_wait = count, limit, max_wait
        self.stored_total = 0
        self.reading: int | None = None
        self.reading_base = 0                  # stored_total when the reading's query began
        self.read_at = float("-inf")
        self.waiters: list[tuple[float, asyncio.Future]] = []
        self.poller: asyncio.Task | None = None

    def stored(self, count: int = 1) -> None:
        self.stored_total += count

    def _bound(self) -> int | None:
        """The most messages that can be waiting now, by the last reading; None without a good one."""
        if self.reading is None or asyncio.get_running_loop().time() - self.read_at > READING_SECONDS:
            return None
        return self.reading + self.stored_total - self.reading_base

    async def wait(self) -> None:
        limit = self.limit()
        if limit <= 0:
            return
        bound = self._bound()
        if bound is not None and bound <= limit:
            return
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self.waiters.append((loop.time() + self.max_wait(), future))
        if self.poller is None or self.poller.done():
            self.poller = asyncio.ensure_future(self._poll())
        await future

    async def _poll(self) -> None:
        loop = asyncio.get_running_loop()
        while self.waiters:
            pause = self.read_at + POLL_SECONDS - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            limit, base = self.limit(), self.stored_total
            try:
                reading = await self.count(limit + 1)
            except Exception:
                log.warning("could not read the filing backlog; answering at once", exc_info=True)
                self.reading = None
                self._release(due_by=float("inf"))
                return
            self.reading, self.reading_base, self.read_at = reading, base, loop.time()
            self._release(due_by=float("inf") if self._bound() <= limit else loop.time())

    def _release(self, *, due_by: float) -> None:
        """Answer the callers whose deadline is ``due_by`` or earlier (all of them at infinity)."""
        held = []
        for deadline, future in self.waiters:
            if deadline > due_by:
                held.append((deadline, future))
            elif not future.done():   # a sender that hung up has a cancelled future
                future.set_result(None)
        self.waiters = held
