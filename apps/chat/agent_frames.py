"""Chat frames an agent sends on the console socket (``chat.send``, ``chat.typing``, ``chat.ping``, …).

The console consumer hands every ``chat.*`` frame to ``handle``; this module parses
it, calls the chat services and answers on the same socket. A ticket reference is
looked up once per process (it never changes its conversation), but whether this agent
may work that ticket is asked on every frame: the cache names, it never authorises.
"""

from channels.db import database_sync_to_async
from django.utils.translation import gettext as _

from apps.chat import events, selectors, services
from apps.chat import protocol as p
from apps.chat.models import Entry
from apps.chat.writer import writer
from apps.console.events import MANAGERS_GROUP
from apps.tickets.access import can_act_on_ticket_id

# reference -> (conversation id, ticket id): which chat a reference names, never who may work it.
_conversations: dict[str, tuple[str, int]] = {}


def _lookup(reference: str) -> tuple[str, int] | None:
    conversation = selectors.conversation_for_ticket(reference=reference)
    if conversation is None:
        return None
    if len(_conversations) > 100_000:
        _conversations.clear()
    _conversations[reference] = (str(conversation.pk), conversation.ticket_id)
    return _conversations[reference]


def _conversation_id(reference: str, user) -> str | None:
    """The conversation of ``reference`` if ``user`` may work its ticket now (one thread hop)."""
    ids = _conversations.get(reference) or _lookup(reference)
    if ids is None or not can_act_on_ticket_id(user, ids[1]):
        return None
    return ids[0]


async def handle(consumer, raw: dict) -> None:
    try:
        frame = p.parse_agent_frame(raw)
        reference = frame.data["ticket"]
        # A known chat's chat.send is decided by the store, whose rule is narrower than the ticket
        # rule (the assignee, or a manager stepping in) and read under the conversation's lock: no
        # read more on the latency-measured path. Every other frame asks the ticket rule, every time.
        cached = _conversations.get(reference)
        if cached is not None and frame.type == "chat.send":
            conversation_id = cached[0]
        else:
            conversation_id = await database_sync_to_async(_conversation_id)(reference, consumer.user)
        if conversation_id is None:
            raise unknown_chat()
        await HANDLERS[frame.type](consumer, conversation_id, frame.data)
    except p.ProtocolError as error:
        await consumer.send_json({**error.frame(), "error": error.code, "request": raw.get("type")})
    except services.ChatError as error:
        await consumer.send_json({"type": "error", "error": error.code, "code": error.code, "detail": error.detail,
                                  "request": raw.get("type")})


def unknown_chat(client_id: str = "") -> p.ProtocolError:
    return p.ProtocolError("unknown_chat", _("No chat you may work on has this reference."), client_id)


async def send(consumer, conversation_id, data):
    result = await writer().submit(services.Outgoing(
        conversation_id=conversation_id, sender=Entry.Sender.AGENT, body=data["body"], client_id=data["client_id"],
        user_id=consumer.user.pk, may_override=MANAGERS_GROUP in (consumer.groups_joined or [])))
    if isinstance(result, services.Refused) and result.code == "not_assignee" and await database_sync_to_async(
            _conversation_id)(data["ticket"], consumer.user) is None:
        raise unknown_chat(data["client_id"])     # refused either way; outside the rule the chat is not even named
    if isinstance(result, services.Refused):
        return await consumer.send_json({"type": "error", "error": result.code, "code": result.code,
                                          "detail": result.detail,
                                          "client_id": data["client_id"], "request": "chat.send"})
    await consumer.send_json({**events.ack_frame(result, type_="chat.ack"), "ticket": result.ticket})


async def typing(consumer, conversation_id, data):
    await events.publish([events.visitor_push(conversation_id, {"type": "typing", "from": "agent"})],
                         consumer.channel_layer)


async def read(consumer, conversation_id, data):
    seq = await database_sync_to_async(services.mark_read)(
        conversation_id=conversation_id, side=Entry.Sender.AGENT, seq=data["seq"])
    await events.publish([events.visitor_push(conversation_id, {"type": "read", "by": "agent", "seq": seq})],
                         consumer.channel_layer)


async def resume(consumer, conversation_id, data):
    """The chat panel (re)connected: replay what it missed; an assignee opening a waiting chat joins it."""
    await database_sync_to_async(services.agent_joined)(conversation_id=conversation_id, user=consumer.user)
    async with consumer.in_order:      # no live line between the replayed ones
        frames = await database_sync_to_async(selectors.replay_frames)(
            conversation_id=conversation_id, after=data["after"], for_agent=True)
        for frame in frames:
            await consumer.send_json(frame)
        await consumer.send_json(await database_sync_to_async(selectors.state_frame_of)(
            conversation_id=conversation_id, type_="chat.state"))


async def ping(consumer, conversation_id, data):
    """The open chat panel asks how far the conversation is (every 15 s); behind, it sends chat.resume.

    Pushes can stop without the socket closing (Redis away): this is how the panel notices.
    """
    await consumer.send_json(await database_sync_to_async(selectors.state_frame_of)(
        conversation_id=conversation_id, type_="chat.state"))


async def end(consumer, conversation_id, data):
    await database_sync_to_async(services.end_conversation)(
        conversation_id=conversation_id, by=Entry.Sender.AGENT, user=consumer.user)


HANDLERS = {"chat.send": send, "chat.typing": typing, "chat.read": read, "chat.resume": resume, "chat.ping": ping,
            "chat.end": end}
