"""Read configuration rows once per unit of work (one intake batch) instead of once per item.

Filing a batch of mail asks the same questions hundreds of times: which region an
entry point belongs to, the email SLA policy, a region's opening hours, the
language's queue. Inside ``read_once()`` the answer to each question is read from
the database the first time and remembered until the block ends; outside it,
``once()`` reads every time, exactly as before.

The memory lives for one block only (a batch of at most a few hundred messages,
well under a second of work), so an administrator's edit applies from the next batch on.

``read_once(across_requests=True)`` keeps one memory per process across blocks, for the
phone line's webhooks, which ask the same questions hundreds of times a second. It is
forgotten whenever a configuration row (``CONFIGURATION_MODELS``) is saved or deleted in
any of the desk's processes: the save bumps a version number in the shared cache, which
every process compares at most once a second (``VERSION_CHECK_SECONDS``; the process that
saved forgets at once). Writes that bypass ``save()`` (``QuerySet.update``, raw SQL) must
call ``configuration_changed()`` themselves.
"""

import logging
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")
log = logging.getLogger(__name__)

# What ``once()`` remembers: the rows the desk is configured by (labels of Django models).
CONFIGURATION_MODELS = frozenset({
    "policy.Region", "policy.OpeningPeriod", "policy.DateOverride", "policy.EntryPoint", "policy.LanguageRegion",
    "policy.ServiceWindow", "policy.ChannelRule", "policy.SlaPolicy", "policy.DemoMode", "routing.Queue",
    "tickets.ReceiptTemplate",
})
VERSION_KEY = "readonce:configuration-version"
VERSION_CHECK_SECONDS = 1.0

_memory: ContextVar[dict | None] = ContextVar("readonce_memory", default=None)
_shared: dict = {"version": None, "memory": {}, "checked": float("-inf")}


@contextmanager
def read_once(*, across_requests: bool = False) -> Iterator[None]:
    """Remember configuration reads until the block ends; a nested block shares the outer memory.

    ``across_requests``: the process's memory, kept while no configuration row changes.
    """
    if _memory.get() is not None:
        yield
        return
    token = _memory.set(_shared_memory() if across_requests else {})
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


def _shared_memory() -> dict:
    if time.monotonic() - _shared["checked"] < VERSION_CHECK_SECONDS:
        return _shared["memory"]
    try:
        version = cache.get(VERSION_KEY, 0)
    except Exception:           # the cache (Redis) is away: nothing is known to be current
        log.warning("cannot read the configuration version; reading the configuration afresh", exc_info=True)
        return {}
    if version != _shared["version"]:
        _shared["memory"], _shared["version"] = {}, version
    _shared["checked"] = time.monotonic()
    return _shared["memory"]


def configuration_changed(**_signal) -> None:
    """Forget the remembered configuration everywhere: now, and again once the change is committed
    (a process that read the old rows between the two would otherwise keep them)."""
    _bump()
    transaction.on_commit(_bump)


def on_model_change(sender, **signal) -> None:
    """``post_save``/``post_delete`` receiver for every model: configuration rows forget the memory."""
    if sender._meta.label in CONFIGURATION_MODELS:
        configuration_changed()


def forget() -> None:
    """This process's memory only (tests: a rolled-back row must not be remembered into the next test)."""
    _shared.update(memory={}, version=None, checked=float("-inf"))


def _bump() -> None:
    forget()
    try:
        cache.incr(VERSION_KEY)
    except ValueError:          # no version yet
        cache.add(VERSION_KEY, 1, timeout=None)
    except Exception:           # the cache (Redis) is away: so are the other processes' shared memories
        log.warning("cannot bump the configuration version", exc_info=True)
