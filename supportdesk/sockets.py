"""The socket consumers' dispatch: frames and pushes on two loops, no sweep per message.

Channels' consumers handle one message at a time, whatever its source: while a chat line
the socket sent was being stored (about 25 ms under load), every push to that socket
waited behind it, so an agent who was typing delayed the visitor's lines to them. Here
the socket's frames and the channel layer's pushes each have a loop of their own; a
handler that must not interleave with pushes (a replay after an id) holds ``in_order``.
Pushes start once ``connect`` has finished, so a socket's first frames stay its hello.

Channels 4.2+ also runs ``close_old_connections`` in the sync thread before handling
every message (``AsyncConsumer.dispatch``): a thread hop per frame and per push, which
on a busy chat server cost more CPU than storing the message. Every database call of
these consumers goes through ``database_sync_to_async``, which sweeps stale connections
around the call itself, so the sweep per message adds nothing but cost.
"""

import asyncio
import contextlib
import functools
import logging

from channels.consumer import get_handler_name
from channels.exceptions import StopConsumer
from channels.layers import get_channel_layer

log = logging.getLogger(__name__)


class FramesAndPushesApart:
    async def __call__(self, scope, receive, send):
        self.scope = scope
        self.base_send = send
        self.in_order = asyncio.Lock()
        self.channel_layer = get_channel_layer(self.channel_layer_alias)
        if self.channel_layer is not None:
            self.channel_name = await self.channel_layer.new_channel()
            self.channel_receive = functools.partial(self.channel_layer.receive, self.channel_name)
        pushes = None
        try:
            while True:
                await self.dispatch(await receive())
                if pushes is None and self.channel_layer is not None:
                    pushes = asyncio.ensure_future(self._pushes())
        except StopConsumer:
            pass
        finally:
            if pushes is not None:
                pushes.cancel()
                with contextlib.suppress(asyncio.CancelledError, StopConsumer):
                    await pushes

    async def _pushes(self):
        try:
            while True:
                message = await self.channel_receive()
                async with self.in_order:
                    await self.dispatch(message)
        except Exception:
            # As a failing handler did when both shared one loop: the socket closes, the client reconnects.
            log.exception("a push to %s failed; closing the socket", self.channel_name)
            await self.close(code=1011)

    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
