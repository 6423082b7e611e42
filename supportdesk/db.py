"""Which SQL dialect a write may use: PostgreSQL's hand-written statements, or portable ones.

The desk runs on PostgreSQL in production and on SQLite embedded (``make run`` without
a database). A few hot writes (the chat's group commit, binary inserts of raw mail) have
a statement written for PostgreSQL beside a portable path through the ORM; this is the one
place that decides between them, so no module asks ``connection.vendor`` itself.

``portable()`` makes this thread take the portable paths on PostgreSQL too: a test writes
the same input both ways and compares the rows.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.db.backends.base.base import BaseDatabaseWrapper

_portable_only: ContextVar[bool] = ContextVar("portable_only", default=False)


def on_postgresql(connection: BaseDatabaseWrapper) -> bool:
    """True when ``connection`` is PostgreSQL and its hand-written statements may run."""
    return connection.vendor == "postgresql" and not _portable_only.get()


@contextmanager
def portable() -> Iterator[None]:
    """Take the portable paths in this thread (or task) until the block ends, whatever the database."""
    token = _portable_only.set(True)
    try:
        yield
    finally:
        _portable_only.reset(token)
