"""Consumers that skip Channels' per-message connection sweep.

Channels 4.2+ runs ``close_old_connections`` in the sync thread before handling every
message (``AsyncConsumer.dispatch``): a thread hop per frame and per push, which on a
busy chat server cost more CPU than storing the message. Every database call of these
consumers goes through ``database_sync_to_async``, which sweeps stale connections
around the call itself, so the sweep per message adds nothing but cost.
"""

from channels.consumer import get_handler_name


class SweepOnlyAroundDatabaseCalls:
    async def dispatch(self, message):
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            raise ValueError(f"No handler for message type {message['type']}")
        await handler(message)
