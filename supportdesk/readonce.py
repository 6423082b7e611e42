"""Read configuration rows once per unit of work (one intake batch) instead of once per item.

Filing a batch of mail asks the same questions hundreds of times: which region an
entry point belongs to, the email SLA policy, a region's opening hours, the
language's queue. Inside ``read_once()`` the answer to each question is read from
the database the first time and remembered until the block ends; outside it,
``once()`` reads every time, exactly as before.

The memory lives for one block only (a batch of at most a few hundred messages,
well under a second of work), never across processes or requests, so an
administrator's edit applies from the next batch on and nothing needs to be
invalidated across the desk's processes.
"""

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_memory: ContextVar[dict | None] = ContextVar("readonce_memory", default=None)


@contextmanager
def read_once() -> Iterator[None]:
    """Remember configuration reads until the block ends; a nested block shares the outer memory."""
    if _memory.get() is not None:
        yield
        return
    token = _memory.set({})
    try:
        yield
    finally:
        _memory.reset(token)


def once(key: Hashable, load: Callable[[], T]) -> T:
    """``load()``'s result, remembered under ``key`` inside ``read_once()``; a fresh read outside it."""
    memory = _memory.get()
    if memory is None:
        return load()
    try:
        return memory[key]
    except KeyError:
        value = memory[key] = load()
        return value


def active() -> bool:
    return _memory.get() is not None
