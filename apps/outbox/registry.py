"""Who delivers each kind of outbox row. Apps register in ``AppConfig.ready``; the outbox imports none of them."""

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Sent:
    pass


@dataclass(frozen=True)
class Retry:
    """A passing failure (4xx, a timeout, the remote is down): try again later, after ``after`` seconds if the
    remote said so (Retry-After)."""

    error: str
    after: float | None = None


@dataclass(frozen=True)
class Dead:
    """A failure that repeating cannot fix (5xx, no such recipient): stop and list it for the manager."""

    error: str


Outcome = Sent | Retry | Dead


@dataclass(frozen=True)
class Deliverer:
    deliver: Callable[[list], list[Outcome]]    # the claimed rows, in order → one outcome each
    queue: str
    describe: Callable[[list], list[str]] | None = None     # the rows, as the manager should read them
    # A kind's own first retry delay and time limit (read when used, so settings may change); else the outbox's.
    retry_base_seconds: Callable[[], float] | None = None
    max_age_seconds: Callable[[], float] | None = None


_deliverers: dict[str, Deliverer] = {}


def register(kind: str, deliver: Callable[[list], list[Outcome]], *, queue: str = "default",
             describe: Callable[[list], list[str]] | None = None,
             retry_base_seconds: Callable[[], float] | None = None,
             max_age_seconds: Callable[[], float] | None = None) -> None:
    _deliverers[kind] = Deliverer(deliver=deliver, queue=queue, describe=describe,
                                  retry_base_seconds=retry_base_seconds, max_age_seconds=max_age_seconds)


def deliverer(kind: str) -> Deliverer | None:
    return _deliverers.get(kind)
