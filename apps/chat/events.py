"""Chat pushes: frame payloads for the visitor's and the agent's sockets, and sending them.

Visitor sockets join the conversation's group and receive ready-made JSON text (one
encoding per message, whatever the number of sockets). Agents receive chat frames on
their console socket through the agent's own group, as the console's ``desk.event``.
A failed push is logged, never raised: the message is already stored and clients
catch up by sequence number.
"""

import asyncio
import json
import logging

from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer

from apps.chat.models import visitor_group
from apps.console.events import agent_group
from apps.console.push import group_send_many

log = logging.getLogger(__name__)
PUBLISH_SECONDS = 2.0


def _iso(value):
    return value.isoformat() if value else None


def message_frame(stored) -> dict:
    """A stored message as the visitor's widget sees it."""
    frame = {"type": "message", "seq": stored.seq, "id": stored.message_id, "from": stored.sender,
             "author": stored.author, "body": stored.body, "at": _iso(stored.at)}
    if stored.client_id:
        frame["client_id"] = stored.client_id
    if stored.attachments:
        frame["attachments"] = list(stored.attachments)
    return frame


def agent_frame(stored) -> dict:
    """A stored message as the agent's console sees it."""
    return {**message_frame(stored), "type": "chat.message", "ticket": stored.ticket,
            "conversation": stored.conversation_id}


def ack_frame(stored, *, type_: str = "ack") -> dict:
    return {"type": type_, "client_id": stored.client_id, "seq": stored.seq, "id": stored.message_id,
            "at": _iso(stored.at), "duplicate": stored.duplicate}


def visitor_push(conversation_id, frame: dict) -> tuple[str, dict]:
    return visitor_group(conversation_id), {"type": "chat.push", "text": json.dumps(frame)}


def agent_push(user_id: int, payload: dict) -> tuple[str, dict]:
    return agent_group(user_id), {"type": "desk.event", "text": json.dumps(payload)}


def stored_pushes(stored) -> list[tuple[str, dict]]:
    """Who hears about a stored message: the other side only (the sender gets an ack)."""
    if stored.duplicate:
        return []
    if stored.sender == "agent":
        return [visitor_push(stored.conversation_id, message_frame(stored))]
    if stored.assignee_id:
        return [agent_push(stored.assignee_id, agent_frame(stored))]
    return []    # still queued: the agent who takes it reads the thread from the ticket


def ended_pushes(conversation, *, by: str) -> list[tuple[str, dict]]:
    pushes = [visitor_push(conversation.pk, {"type": "ended", "by": by})]
    if conversation.ticket.assignee_id:
        pushes.append(agent_push(conversation.ticket.assignee_id, {
            "type": "chat.ended", "ticket": conversation.ticket.reference, "by": by}))
    return pushes


async def publish(pushes: list[tuple[str, dict]], layer=None) -> None:
    """Push to the groups; a failure or a Redis that does not answer within
    ``PUBLISH_SECONDS`` is logged and given up (the chat writer waits on this)."""
    layer = layer or get_channel_layer()
    if layer is None or not pushes:
        return
    groups = [group for group, _message in pushes]
    try:
        async with asyncio.timeout(PUBLISH_SECONDS):
            if len(pushes) > 1 and pipelining_supported(layer):
                await _publish_pipelined(layer, pushes)
            else:
                for group, message in pushes:
                    await layer.group_send(group, message)
    except Exception:
        log.exception("chat pushes to %s failed", groups)


# What the pipelined path reads of channels_redis beyond its public API. Checked once per layer
# class: a channels_redis that renames any of them falls back to ``group_send`` (slower, correct).
_PIPELINE_NEEDS = {"layer": ("_get_layer",), "loop_layer": ("_get_group_channel_name", "_get_shard"),
                   "shard": ("_lock", "_ensure_redis", "_redis")}
_pipelining: dict[type, bool] = {}


def pipelining_supported(layer) -> bool:
    kind = type(layer)
    if kind not in _pipelining:
        supported = isinstance(layer, RedisPubSubChannelLayer) and all(
            hasattr(layer, name) for name in _PIPELINE_NEEDS["layer"])
        if supported:
            loop_layer = layer._get_layer()
            shard = loop_layer._get_shard(loop_layer._get_group_channel_name("probe")) if all(
                hasattr(loop_layer, name) for name in _PIPELINE_NEEDS["loop_layer"]) else None
            supported = shard is not None and all(hasattr(shard, name) for name in _PIPELINE_NEEDS["shard"])
        if not supported:
            log.warning("channels_redis internals changed: chat pushes use group_send one by one")
        _pipelining[kind] = supported
    return _pipelining[kind]


async def _publish_pipelined(layer: RedisPubSubChannelLayer, pushes: list[tuple[str, dict]]) -> None:
    """``group_send`` for many pushes in one round trip per Redis shard.

    channels_redis publishes one message per call, each waiting for Redis under the
    shard's lock, so a busy server queued its pushes behind one another. This sends
    the same messages to the same channels, serialised the same way (channels_redis
    4.3; apps/chat/tests/test_events.py holds it to what ``group_send`` delivers).
    """
    loop_layer = layer._get_layer()
    by_shard: dict = {}
    for group, message in pushes:
        channel = loop_layer._get_group_channel_name(group)
        by_shard.setdefault(loop_layer._get_shard(channel), []).append((channel, layer.serialize(message)))
    for shard, messages in by_shard.items():
        async with shard._lock:
            shard._ensure_redis()
            async with shard._redis.pipeline(transaction=False) as pipe:
                for channel, data in messages:
                    pipe.publish(channel, data)
                await pipe.execute()


def publish_sync(pushes: list[tuple[str, dict]]) -> None:
    """From synchronous code (after a commit): through the console's long-lived push loop."""
    if not pushes:
        return
    try:
        group_send_many(pushes)
    except Exception:
        log.exception("chat push to %s failed", [group for group, _message in pushes])
