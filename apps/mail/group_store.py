"""Group commit for the SMTP listener: what several senders sent meanwhile is stored in one transaction.

A message is stored at once when no store is under way; messages that arrive during a
store wait for it and go together in the next one, so under load a commit carries
several messages and when idle nothing waits. Each caller still hears its own answer
only after the transaction holding its bytes has committed (or failed).
"""

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")

MAX_BATCH = 50
MAX_BATCH_BYTES = 32 * 1024 * 1024


class GroupStore(Generic[Item]):
    """Feeds ``store_many`` (a list of items in, one answer per item out) one batch at a time."""

    def __init__(self, store_many: Callable[[list[Item]], Awaitable[list[str]]], *,
                 size: Callable[[Item], int] = lambda item: 0):
        self.store_many, self.size = store_many, size
        self.pending: list[tuple[Item, asyncio.Future]] = []
        self.draining = False

    async def store(self, item: Item) -> str:
        future = asyncio.get_running_loop().create_future()
        self.pending.append((item, future))
        if not self.draining:
            self.draining = True
            asyncio.ensure_future(self._drain())
        return await future

    def _next_batch(self) -> list[tuple[Item, asyncio.Future]]:
        taken, size = 0, 0
        for item, _future in self.pending[:MAX_BATCH]:
            size += self.size(item)
            if taken and size > MAX_BATCH_BYTES:
                break
            taken += 1
        batch, self.pending = self.pending[:taken], self.pending[taken:]
        return batch

    async def _drain(self) -> None:
        try:
            while self.pending:
                batch = self._next_batch()
                try:
                    answers = await self.store_many([item for item, _future in batch])
                except BaseException as error:
                    for _item, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    if not isinstance(error, Exception):
                        raise
                    continue
                for (_item, future), answer in zip(batch, answers, strict=True):
                    if not future.done():   # a sender that hung up has a cancelled future
                        future.set_result(answer)
        finally:
            self.draining = False
