"""The channel registry: what each way in to the desk is, said once.

Routing asks whether a ticket is live and what caps an agent's load; the console asks
which panel and socket frames a channel brings and how counts are labelled; the reply
path asks how an agent's message reaches the user. Nobody else tests ``channel ==``.

The facts below are the domain's. What a channel app brings (how it delivers a reply,
its console panel, its frame handlers, when one of its tickets stops being live) it
registers itself in ``AppConfig.ready`` through ``register``, so this module imports no
channel app. Adding a channel is a ``Channel`` value, a spec here and a ``register`` call.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from apps.policy.languages import Channel


@dataclass
class ChannelSpec:
    channel: str
    live: bool                      # a person answers while the user waits (offered, not round-robin)
    capacity_field: str = ""        # the AgentState field capping how many an agent holds at once
    waiting_label: object = ""      # the console's count of this channel's waiting work
    # Registered by the channel's app:
    deliver_reply: Callable | None = None   # (ticket=, message=) -> a handle, or None: cannot carry it now
    reply_fallback: str = ""        # the channel that carries a reply this one cannot (a gone visitor)
    console_panel: str = ""         # template the ticket page includes
    frame_types: frozenset = field(default_factory=frozenset)   # console socket frames it answers
    frame_handler: Callable | None = None    # async (consumer, frame)
    live_while: Callable | None = None       # (ticket) -> bool: live only while this holds
    live_among: Callable | None = None       # (tickets) -> set of their pks: ``live_while`` for many at once
    reaches: Callable | None = None          # (ticket) -> bool: can it reach this ticket's user at all
    # (ticket) -> bool: the user's live session goes on now (a chat not ended, a call not over), so the
    # ticket is not merged away, and a channel that carries text (``deliver_reply``) reaches them live.
    in_progress: Callable | None = None


REGISTRY: dict[str, ChannelSpec] = {
    Channel.CHAT: ChannelSpec(Channel.CHAT, live=True, capacity_field="max_chats",
                              waiting_label=_("waiting chats"), reply_fallback=Channel.EMAIL),
    # A queued call is live; a call that became a voicemail is async (the voice app says which).
    Channel.VOICE: ChannelSpec(Channel.VOICE, live=True, capacity_field="max_calls",
                               waiting_label=_("waiting calls"), reply_fallback=Channel.EMAIL),
    # Async work of every channel counts here: a voicemail or a chat answered by email too.
    Channel.EMAIL: ChannelSpec(Channel.EMAIL, live=False, waiting_label=_("open emails, voicemails and reports")),
    Channel.FEEDBACK: ChannelSpec(Channel.FEEDBACK, live=False, waiting_label=_("open emails, voicemails and reports")),
}

HOOKS = ("deliver_reply", "console_panel", "frame_types", "frame_handler", "live_while", "live_among", "reaches",
         "in_progress")


def spec(channel: str) -> ChannelSpec:
    return REGISTRY[channel]


def register(channel: str, **hooks) -> None:
    """A channel app tells the registry what it brings (see ``HOOKS``)."""
    unknown = set(hooks) - set(HOOKS)
    if unknown:
        raise TypeError(f"not channel hooks: {', '.join(sorted(unknown))}")
    if "frame_types" in hooks:
        hooks["frame_types"] = frozenset(hooks["frame_types"])
    for name, value in hooks.items():
        setattr(REGISTRY[channel], name, value)


def live_channels() -> list[str]:
    """Channels whose tickets start live (a live ticket may later become async: ``is_live``)."""
    return [name for name, entry in REGISTRY.items() if entry.live]


def is_live(ticket) -> bool:
    entry = REGISTRY[ticket.channel]
    return entry.live and (entry.live_while is None or entry.live_while(ticket))


def live_ones(tickets) -> set[int]:
    """The pks of those tickets that are live now: ``is_live`` for a batch, one question per channel."""
    by_channel: dict[str, list] = {}
    for ticket in tickets:
        by_channel.setdefault(ticket.channel, []).append(ticket)
    live: set[int] = set()
    for channel, group in by_channel.items():
        entry = REGISTRY[channel]
        if not entry.live:
            continue
        if entry.live_among is not None:
            live |= entry.live_among(group)
        else:
            live |= {ticket.pk for ticket in group if entry.live_while is None or entry.live_while(ticket)}
    return live


def in_progress(ticket) -> bool:
    """Is the user still there, live (a chat nobody has ended, a caller in the queue or on the line)?

    Such a ticket is not merged away (its session would go on under a closed ticket), and an agent's
    typed line reaches the user live only then (``live_delivery``).
    """
    entry = REGISTRY[ticket.channel]
    return entry.in_progress is not None and entry.in_progress(ticket)


def capacity_fields() -> dict[str, str]:
    """``{channel: AgentState field}`` for the channels whose load is capped."""
    return {name: entry.capacity_field for name, entry in REGISTRY.items() if entry.capacity_field}


def frame_handlers() -> dict[str, Callable]:
    """Console socket frame type -> its channel's handler."""
    return {frame: entry.frame_handler for entry in REGISTRY.values() if entry.frame_handler
            for frame in entry.frame_types}


def reply_deliveries(ticket) -> list[Callable]:
    """How an agent's reply reaches the ticket's user, in order: the channel's own way, then its fallback's.

    Each is called with ``ticket=, message=``; one that returns None could not carry it
    (the visitor left the chat), so the next is tried.
    """
    entry = REGISTRY[ticket.channel]
    ways = [entry.deliver_reply] if entry.deliver_reply else []
    fallback = REGISTRY.get(entry.reply_fallback)
    if fallback and fallback.deliver_reply and (fallback.reaches is None or fallback.reaches(ticket)):
        ways.append(fallback.deliver_reply)
    return ways


def live_delivery(ticket) -> Callable | None:
    """How an agent's line reaches the user live right now (a chat in progress), or None.

    A live channel's own way counts only while the channel says its user is there to read it
    (``in_progress``); a call, in progress or not, has no way for text at all.
    """
    entry = REGISTRY[ticket.channel]
    if entry.deliver_reply and is_live(ticket) and in_progress(ticket):
        return entry.deliver_reply
    return None


def later_delivery(ticket) -> Callable | None:
    """How a reply reaches the user later (by email), or None when nothing reaches them (no address).

    An asynchronous channel's own way (email, feedback), else the live channel's fallback
    (a chat or call answered by email).
    """
    entry = REGISTRY[ticket.channel]
    for way in (None if entry.live else entry, REGISTRY.get(entry.reply_fallback)):
        if way is not None and way.deliver_reply and (way.reaches is None or way.reaches(ticket)):
            return way.deliver_reply
    return None
