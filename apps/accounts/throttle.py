"""Sign-in throttling: failed passwords are counted per account and per client address.

Every ``LOGIN_FAILURE_LIMIT`` failures lock the account, and the address, for
``LOGIN_LOCKOUT_SECONDS``: every password is refused then, the right one too. Counts
live in the cache (Redis with workers, the process's memory embedded) and are atomic
increments; the lockout's end is a timestamp, so it follows the desk's clock. A
successful sign-in clears both counts.
"""

import functools
import logging

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

log = logging.getLogger(__name__)
COUNT, LOCKED = "login-failures", "login-locked"


def unless_the_cache_fails(default):
    """With the cache (Redis) away, sign-in works unthrottled and says so in the log: locking every
    agent out of the desk during an outage would be worse than a few minutes without the limit."""
    def wrap(function):
        @functools.wraps(function)
        def guarded(**kwargs):
            try:
                return function(**kwargs)
            except Exception:
                log.warning("sign-in throttle skipped: the cache failed", exc_info=True)
                return default
        return guarded
    return wrap


def _subjects(*, username: str, address: str) -> list[str]:
    name = username.strip().lower()
    return ([f"user:{name}"] if name else []) + ([f"address:{address}"] if address else [])


@unless_the_cache_fails(False)
def locked_out(*, username: str, address: str) -> bool:
    keys = [f"{LOCKED}:{subject}" for subject in _subjects(username=username, address=address)]
    now = timezone.now().timestamp()
    return any(until > now for until in cache.get_many(keys).values())


@unless_the_cache_fails(None)
def record_failure(*, username: str, address: str) -> None:
    for subject in _subjects(username=username, address=address):
        key = f"{COUNT}:{subject}"
        count = 1 if cache.add(key, 1, settings.LOGIN_LOCKOUT_SECONDS) else _increment(key)
        if count >= settings.LOGIN_FAILURE_LIMIT:
            until = timezone.now().timestamp() + settings.LOGIN_LOCKOUT_SECONDS
            cache.set(f"{LOCKED}:{subject}", until, settings.LOGIN_LOCKOUT_SECONDS)
            cache.delete(key)        # the next lockout takes as many failures again


def _increment(key: str) -> int:
    try:
        return cache.incr(key)
    except ValueError:               # expired since the add
        cache.add(key, 1, settings.LOGIN_LOCKOUT_SECONDS)
        return 1


@unless_the_cache_fails(None)
def clear(*, username: str, address: str) -> None:
    cache.delete_many([f"{prefix}:{subject}" for subject in _subjects(username=username, address=address)
                       for prefix in (COUNT, LOCKED)])
