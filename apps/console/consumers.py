"""The console websocket: authorise, join the agent's groups, move frames to services.

Close codes: 4401 not signed in, 4403 signed in but not an agent.
"""

import asyncio
import contextlib
import functools
import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.core.cache import cache

from apps.accounts.names import display_name
from apps.console import selectors
from apps.console.events import MANAGERS_GROUP, agent_group, scope_group
from apps.console.push import console_listening, push_epoch
from apps.desk import actions
from apps.routing import services as routing
from apps.tickets import access, channels
from apps.tickets.models import Ticket
from supportdesk.sockets import FramesAndPushesApart

log = logging.getLogger(__name__)

VIEWER_SECONDS = 30


def _console_groups(user) -> list[str] | None:
    """The groups whose pushes this user may get, from the ticket access rule; None: no console."""
    scope = access.scope_of(user)
    if not scope.works_tickets:
        return None
    if scope.everything:
        return [MANAGERS_GROUP, agent_group(user.pk)]
    return [scope_group(language, channel) for language in sorted(scope.languages)
            for channel in sorted(scope.channels)] + [agent_group(user.pk)]


def _viewers(reference: str, user, leaving: bool = False) -> list[str]:
    """Agents with this ticket open, kept in the shared cache with a short expiry.

    Without the cache (Redis away) nobody else is known: the notice is a courtesy, and an
    error here would close the agent's socket, chats and all.
    """
    import time

    key = f"console:viewers:{reference}"
    now = time.time()
    try:
        viewers = {name: seen for name, seen in (cache.get(key) or {}).items() if seen > now - VIEWER_SECONDS}
    except Exception:
        log.warning("viewers of %s unknown: the cache failed", reference, exc_info=True)
        return [] if leaving else [display_name(user)]
    if leaving:
        viewers.pop(display_name(user), None)
    else:
        viewers[display_name(user)] = now
    with contextlib.suppress(Exception):    # as above; the next viewing frame writes it again
        cache.set(key, viewers, VIEWER_SECONDS)
    return sorted(viewers)


def _heartbeat(user) -> tuple[str | None, list[str] | None, bool]:
    """The push epoch, the console's groups now, and whether its open mark had lapsed (see ``push``)."""
    routing.heartbeat(user=user)
    return push_epoch(), _console_groups(user), not console_listening()


class ConsoleConsumer(FramesAndPushesApart, AsyncJsonWebsocketConsumer):
    async def connect(self):
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.groups_joined = await database_sync_to_async(_console_groups)(user)
        if not self.groups_joined:
            await self.close(code=4403)
            return
        self.user = user
        self.viewing = None
        self.regrouping = asyncio.Lock()
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        # Marked open before the cursor is read: whatever commits after the cursor is pushed here.
        await database_sync_to_async(console_listening)()
        state = await database_sync_to_async(routing.heartbeat)(user=user)
        cursor = await database_sync_to_async(selectors.latest_event_id)()
        self.epoch, self.resyncs_due = await database_sync_to_async(push_epoch)(), 0
        await self.send_json({"type": "hello", "cursor": cursor, "presence": state.presence})
        await self._send_pending_offers()
        self.asking = asyncio.ensure_future(self._ask_for_heartbeats())

    async def _ask_for_heartbeats(self):
        """Ask the console for its heartbeat, from here: a browser throttles a hidden tab's timers (Chrome: to
        once a minute after five minutes), which alone would let an agent working in another tab drop offline
        (``PRESENCE_TIMEOUT_SECONDS``); a message on the socket still reaches the page at once."""
        try:
            while True:
                await asyncio.sleep(settings.CONSOLE_HEARTBEAT_SECONDS)
                await self.send_json({"type": "heartbeat.due"})
        except Exception:       # the socket is gone: its disconnect ends the rest (a cancel is no Exception)
            log.debug("stopped asking a closed console for heartbeats", exc_info=True)

    async def _send_pending_offers(self):
        for frame in await database_sync_to_async(routing.pending_offer_frames)(user=self.user):
            await self.send_json(frame)

    async def disconnect(self, code):
        if getattr(self, "asking", None) is not None:
            self.asking.cancel()
        for group in getattr(self, "groups_joined", None) or []:
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, frame, **kwargs):
        kind = frame.get("type") if isinstance(frame, dict) else None
        handler = {
            "heartbeat": self.on_heartbeat, "presence": self.on_presence, "resync": self.on_resync,
            "accept": self.on_accept, "decline": self.on_decline, "take": self.on_take,
            "viewing": self.on_viewing,
            **{kind: functools.partial(self.on_channel_frame, handle)
               for kind, handle in channels.frame_handlers().items()},
        }.get(kind)
        if handler is None:
            await self.send_json({"type": "error", "error": "unknown_type", "detail": str(kind)})
            return
        try:
            await handler(frame)
        except routing.RoutingError as error:
            await self.send_json({"type": "error", "error": type(error).__name__, "detail": str(error),
                                  "request": kind})
        except (KeyError, TypeError, ValueError) as error:
            await self.send_json({"type": "error", "error": "bad_frame", "detail": str(error), "request": kind})

    async def on_heartbeat(self, frame):
        epoch, groups, lapsed = await database_sync_to_async(_heartbeat)(self.user)
        # The push that follows a scope change can be lost (Redis away); a heartbeat catches up.
        if groups != self.groups_joined and not await self._regroup():
            return
        # Redis away or restarted leaves this socket open but its pushes lost: the console resyncs
        # from its cursor now and once more a heartbeat later, when the layer has surely resubscribed.
        if epoch is None or epoch != self.epoch:
            self.resyncs_due = 2
        if lapsed:      # writers skipped pushes while no console seemed open; marked again, one resync catches up
            self.resyncs_due = max(self.resyncs_due, 1)
        self.epoch = epoch or self.epoch
        resync, self.resyncs_due = self.resyncs_due > 0, max(0, self.resyncs_due - 1)
        await self.send_json({"type": "heartbeat", "resync": resync})

    async def on_presence(self, frame):
        state = await database_sync_to_async(routing.set_presence)(user=self.user, presence=frame["presence"])
        await self.send_json({"type": "presence", "presence": state.presence})

    async def on_resync(self, frame):
        async with self.in_order:      # no live event between the missed ones
            missed = await database_sync_to_async(selectors.events_after)(user=self.user, after=int(frame["after"]))
            for payload in missed:
                await self.send_json(payload)
            await self.send_json({"type": "resynced", "count": len(missed)})
        await self._send_pending_offers()      # offers are not events: one pushed while Redis was away is here

    async def on_accept(self, frame):
        ticket = await database_sync_to_async(actions.accept_offer)(offer_id=int(frame["offer"]), user=self.user)
        await self.send_json({"type": "accepted", "ticket": ticket.reference})

    async def on_decline(self, frame):
        await database_sync_to_async(routing.decline_offer)(offer_id=int(frame["offer"]), user=self.user)
        await self.send_json({"type": "declined", "offer": int(frame["offer"])})

    async def on_take(self, frame):
        def take():
            ticket = Ticket.objects.get(reference=frame["ticket"])
            return actions.take_ticket(ticket=ticket, user=self.user)

        try:
            ticket = await database_sync_to_async(take)()
        except Ticket.DoesNotExist as error:
            raise ValueError("unknown ticket") from error
        await self.send_json({"type": "accepted", "ticket": ticket.reference})

    async def on_viewing(self, frame):
        reference = str(frame["ticket"])

        def viewers_and_group():
            ticket = Ticket.objects.filter(reference=reference).only("language", "channel", "assignee_id").first()
            if ticket is None or not access.can_act_on(self.user, ticket):
                raise routing.NotAllowed("not your ticket")
            return _viewers(reference, self.user, bool(frame.get("leaving"))), ticket

        viewers, ticket = await database_sync_to_async(viewers_and_group)()
        payload = {"type": "viewers", "ticket": reference, "agents": viewers}
        groups = [MANAGERS_GROUP, scope_group(ticket.language, ticket.channel),
                  *([agent_group(ticket.assignee_id)] if ticket.assignee_id else [])]
        try:
            for group in groups:
                await self.channel_layer.group_send(group, {"type": "desk.event", "payload": payload})
        except Exception:
            log.warning("viewers of %s not pushed", reference, exc_info=True)   # Redis away; sent again in 15 s

    async def _regroup(self) -> bool:
        """Join the groups the user's scope gives now and leave the rest; no scope left closes the socket.

        Read and applied under one lock: a heartbeat and a push regrouping at once must not
        apply an older read after a newer one.
        """
        async with self.regrouping:
            groups = await database_sync_to_async(_console_groups)(self.user)
            if not groups:
                await self.close(code=4403)
                return False
            joined = set(self.groups_joined)
            for group in groups:
                if group not in joined:
                    await self.channel_layer.group_add(group, self.channel_name)
            for group in joined - set(groups):
                await self.channel_layer.group_discard(group, self.channel_name)
            changed, self.groups_joined = groups != self.groups_joined, groups
        if changed:
            await self.send_json({"type": "scope.changed"})
        return True

    async def console_regroup(self, event):
        """Sent to the agent's own group after their languages, channels or role changed."""
        await self._regroup()

    async def on_channel_frame(self, handle, frame):
        """A channel's own frames (chat.send, chat.end, ...): the channel app answers (``tickets.channels``)."""
        await handle(self, frame)

    async def desk_event(self, event):
        if "text" in event:
            await self.send(text_data=event["text"])
        else:
            await self.send_json(event["payload"])
