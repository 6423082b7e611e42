"""The ticket-event vocabulary: for each ``TicketEvent.Kind``, the shape of its ``data``.

Writers pass one of these (or the same keys as a dict, checked here), so a history entry
never carries a key nobody reads; readers (the console's history, reports, Jira) take
``event.details`` and get typed fields instead of digging in ad-hoc dicts. ``data`` stays
JSON in the database: the keys below are the stored ones.
"""

from dataclasses import asdict, dataclass, fields
from typing import ClassVar


class EventData:
    """A kind's data. ``STORED`` maps a field to its stored key where the key is a Python keyword."""

    STORED: ClassVar[dict[str, str]] = {}

    def as_data(self) -> dict:
        stored = {self.STORED.get(name, name): value for name, value in asdict(self).items()}
        return {key: value for key, value in stored.items() if value is not None}

    @classmethod
    def keys(cls) -> set[str]:
        return {cls.STORED.get(f.name, f.name) for f in fields(cls)}

    @classmethod
    def from_data(cls, data: dict | None):
        """Read stored data; keys an older desk wrote and this one no longer has are ignored."""
        data = data or {}
        return cls(**{f.name: data.get(cls.STORED.get(f.name, f.name)) for f in fields(cls)})


@dataclass(frozen=True)
class Opened(EventData):
    channel: str | None = None
    language: str | None = None
    region: str | None = None       # the region's slug


@dataclass(frozen=True)
class MessageAdded(EventData):
    """A message stored on the ticket, or (``event`` receipt_suppressed) a receipt the desk did not send."""

    event: str | None = None        # None: a message was added; "receipt_suppressed"
    message_id: int | None = None
    direction: str | None = None
    automatic: bool | None = None
    reason: str | None = None       # why the receipt was suppressed ("rate_limit")
    to: str | None = None


@dataclass(frozen=True)
class StatusChanged(EventData):
    STORED: ClassVar[dict[str, str]] = {"previous": "from"}
    previous: str | None = None
    to: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Assigned(EventData):
    STORED: ClassVar[dict[str, str]] = {"previous": "from"}
    previous: int | None = None     # user id
    to: int | None = None
    to_name: str | None = None
    queue: int | None = None


@dataclass(frozen=True)
class Triaged(EventData):
    scope: str | None = None
    category: str | None = None
    extension: str | None = None    # slug
    language: str | None = None
    returned_from: str | None = None    # the extension whose owner said "not ours"
    reason: str | None = None


@dataclass(frozen=True)
class SlaClock(EventData):
    target: str | None = None       # SlaTarget.Kind
    event: str | None = None        # met, warning, breached, not_applicable, no_clock
    due_at: str | None = None       # ISO-8601
    late: bool | None = None        # met after the deadline
    error: str | None = None        # no_clock: why the policy could not time the ticket


@dataclass(frozen=True)
class ContactChanged(EventData):
    contact: int | None = None
    changed: dict | None = None     # field -> [old, new]


@dataclass(frozen=True)
class Forwarding(EventData):
    event: str | None = None        # waiting, attempt, created, returned, answers_elsewhere
    owner: str | None = None
    issue: str | None = None
    attempt: int | None = None
    outcome: str | None = None      # attempt: retry or dead
    error: str | None = None
    extension: str | None = None
    by: str | None = None


@dataclass(frozen=True)
class Call(EventData):
    event: str | None = None        # queued, bridged, voicemail, callback, abandoned, agent_missed, ended
    language: str | None = None
    agent: str | None = None
    queue_seconds: int | None = None
    status: str | None = None       # Twilio's CallStatus or DialCallStatus
    duration_seconds: int | None = None
    answered_by: str | None = None


@dataclass(frozen=True)
class Chat(EventData):
    """What the desk notes of a live chat: who ended it, how the visitor rated it."""

    event: str | None = None        # ended, rated
    by: str | None = None           # ended: visitor, agent, desk (idle) or email (the visitor chose email)
    agent: str | None = None        # ended by an agent: their name as the visitor saw it
    idle_minutes: int | None = None
    rating: str | None = None       # rated: good or bad
    comment: str | None = None


@dataclass(frozen=True)
class Merged(EventData):
    """Two tickets of one person became one: written on both, each naming the other."""

    event: str | None = None        # into: this ticket was merged into ``ticket``; from: ``ticket`` was merged here
    ticket: str | None = None       # the other ticket's reference
    messages: int | None = None     # how many messages moved to the surviving ticket


SHAPES: dict[str, type[EventData]] = {
    "opened": Opened, "message": MessageAdded, "status": StatusChanged, "assigned": Assigned,
    "triaged": Triaged, "sla": SlaClock, "contact": ContactChanged, "forwarding": Forwarding,
    "call": Call, "chat": Chat, "merged": Merged,
}


def stored_data(kind: str, data) -> dict:
    """The JSON to store for ``kind``: a shape's data, or a dict whose keys the shape knows (else ValueError)."""
    shape = SHAPES[kind]
    if isinstance(data, EventData):
        if not isinstance(data, shape):
            raise ValueError(f"{type(data).__name__} is not the data of a {kind} event")
        return data.as_data()
    data = dict(data or {})
    unknown = set(data) - shape.keys()
    if unknown:
        raise ValueError(f"a {kind} event has no {', '.join(sorted(unknown))} (apps/tickets/vocabulary.py)")
    return data


def details(kind: str, data: dict | None) -> EventData | None:
    shape = SHAPES.get(kind)
    return shape.from_data(data) if shape else None
