"""The visitor's websocket ``/ws/chat/<conversation_id>/?token=…`` (protocol: docs/chat-protocol.md).

It authorises on connect, turns frames into service calls and pushes into frames.
Bad input gets an error frame; a client that keeps sending bad input or floods is
closed with 4400/4429. Close codes 4401/4403/4404 say why a connection was refused.
"""

import json
import time
from urllib.parse import parse_qs

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.utils import translation
from django.utils.translation import gettext as _

from apps.chat import events, limits, selectors, services
from apps.chat import protocol as p
from apps.chat.models import Entry, visitor_group
from apps.chat.tokens import TokenError, TokenExpired, TokenForAnotherConversation, check_visitor_token
from apps.chat.writer import writer
from supportdesk.sockets import FramesAndPushesApart

BAD_FRAMES_BEFORE_CLOSE = 20
FLOOD_STRIKES_BEFORE_CLOSE = 3
TYPING_EVERY_SECONDS = 2.0


def _query(scope) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(scope.get("query_string", b"").decode()).items()}


def _client_ip(scope) -> str | None:
    client = scope.get("client")
    return client[0] if client else None


class VisitorConsumer(FramesAndPushesApart, AsyncWebsocketConsumer):
    async def connect(self):
        self.conversation_id = self.scope["url_route"]["kwargs"]["conversation_id"]
        query = _query(self.scope)
        try:
            check_visitor_token(query.get("token", ""), self.conversation_id)
        except TokenError as error:
            return await self._refuse(error)
        conversation = await database_sync_to_async(selectors.conversation)(conversation_id=self.conversation_id)
        if conversation is None:
            return await self.close(code=p.CLOSE_UNKNOWN_CONVERSATION)
        self.group = visitor_group(self.conversation_id)
        self.language = conversation.language      # every error frame is in the visitor's language
        self.ip = _client_ip(self.scope)
        self.messages = limits.visitor_message_bucket()
        self.frames = limits.frame_bucket()
        self.bad_frames = self.flood_strikes = 0
        self.last_typing = 0.0
        # Join before reading the state: whatever is stored after this moment also arrives live.
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        hello = await database_sync_to_async(selectors.state_frame)(conversation=conversation)
        await self.send_json(hello)
        if "after" in query and query["after"].isdigit():
            await self.on_resume({"after": int(query["after"])})

    async def _refuse(self, error: TokenError):
        """Accept just long enough to say why: browsers never see a close code sent before accept."""
        code = p.CLOSE_OTHER_CONVERSATION if isinstance(error, TokenForAnotherConversation) else p.CLOSE_TOKEN_INVALID
        detail = (_("This chat link has expired; please start a new chat.") if isinstance(error, TokenExpired)
                  else _("This chat link is not valid for this conversation."))
        await self.accept()
        await self.send_json({"type": "error", "code": error.code, "detail": detail})
        await self.close(code=code)

    async def disconnect(self, code):
        if hasattr(self, "group"):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def send_json(self, frame: dict):
        await self.send(text_data=json.dumps(frame))

    async def receive(self, text_data=None, bytes_data=None):
        with translation.override(self.language):
            await self._receive(text_data, bytes_data)

    async def _receive(self, text_data=None, bytes_data=None):
        if self.frames.take():
            return await self._flooded()
        try:
            frame = p.parse_visitor_frame(text_data, bytes_data)
        except p.ProtocolError as error:
            self.bad_frames += 1
            await self.send_json(error.frame())
            if self.bad_frames >= BAD_FRAMES_BEFORE_CLOSE:
                await self.close(code=p.CLOSE_BAD_INPUT)
            return
        handler = getattr(self, "on_" + frame.type)
        try:
            await handler(frame.data)
        except services.ChatError as error:
            await self.send_json({"type": "error", "code": error.code, "detail": error.detail})

    async def _flooded(self):
        self.flood_strikes += 1
        if self.flood_strikes >= FLOOD_STRIKES_BEFORE_CLOSE * 10:
            await self.close(code=p.CLOSE_FLOOD)
        elif self.flood_strikes % 10 == 1:
            await self.send_json({"type": "error", "code": "flood", "detail": _("Too many frames; slow down.")})

    async def on_message(self, data):
        wait = self.messages.take() or limits.ip_message_wait(self.ip)
        if wait:
            return await self.send_json({
                "type": "error", "code": "rate_limited", "client_id": data["client_id"],
                "retry_after": round(wait, 2), "detail": _("You are sending messages too fast.")})
        result = await writer().submit(services.Outgoing(
            conversation_id=self.conversation_id, sender=Entry.Sender.VISITOR, body=data["body"],
            client_id=data["client_id"]))
        if isinstance(result, services.Refused):
            return await self.send_json({"type": "error", "code": result.code,
                                         "detail": services.refusal_detail(result), "client_id": data["client_id"]})
        await self.send_json(events.ack_frame(result))

    async def on_resume(self, data):
        async with self.in_order:      # no live line between the replayed ones
            frames = await database_sync_to_async(selectors.replay_frames)(
                conversation_id=self.conversation_id, after=data["after"])
            for frame in frames:
                await self.send_json(frame)
            conversation = await database_sync_to_async(selectors.conversation)(
                conversation_id=self.conversation_id)
            await self.send_json({"type": "resumed", "after": data["after"], "count": len(frames),
                                  "last_seq": conversation.last_seq, "state": conversation.state})

    async def on_ping(self, data):
        await self.send_json(await database_sync_to_async(selectors.state_frame_of)(
            conversation_id=self.conversation_id, type_="pong"))

    async def on_typing(self, data):
        now = time.monotonic()
        if now - self.last_typing < TYPING_EVERY_SECONDS:
            return
        self.last_typing = now
        conversation = await database_sync_to_async(selectors.conversation)(conversation_id=self.conversation_id)
        if conversation.ticket.assignee_id:
            await events.publish([events.agent_push(conversation.ticket.assignee_id, {
                "type": "chat.typing", "ticket": conversation.ticket.reference, "from": "visitor"})],
                self.channel_layer)

    async def on_read(self, data):
        seq = await database_sync_to_async(services.mark_read)(
            conversation_id=self.conversation_id, side=Entry.Sender.VISITOR, seq=data["seq"])
        conversation = await database_sync_to_async(selectors.conversation)(conversation_id=self.conversation_id)
        if conversation.ticket.assignee_id:
            await events.publish([events.agent_push(conversation.ticket.assignee_id, {
                "type": "chat.read", "ticket": conversation.ticket.reference, "by": "visitor", "seq": seq})],
                self.channel_layer)

    async def on_end(self, data):
        await database_sync_to_async(services.end_conversation)(
            conversation_id=self.conversation_id, by=Entry.Sender.VISITOR)

    async def on_transcript(self, data):
        email = await database_sync_to_async(services.request_transcript)(conversation_id=self.conversation_id)
        await self.send_json({"type": "transcript", "email": email})

    async def on_email_instead(self, data):
        await database_sync_to_async(services.move_to_email)(conversation_id=self.conversation_id)

    async def chat_push(self, event):
        await self.send(text_data=event["text"])
