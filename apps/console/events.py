"""Console events: every ticket change reaches the consoles that may see it, after commit.

Groups: ``scope-<language>-<channel>`` (agents taking that language on that channel),
``agent-<id>`` (one agent), ``managers`` (User Support Managers). They follow the ticket
access rule (``apps.tickets.access``), so a push reaches exactly the consoles that may open
the ticket. The event id is the resync cursor.
"""

import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from apps.console.push import anyone_listening, group_send_many
from apps.console.selectors import event_payloads

log = logging.getLogger(__name__)

MANAGERS_GROUP = "managers"


def scope_group(language: str, channel: str) -> str:
    return f"scope-{language}-{channel}"


def agent_group(user_id: int) -> str:
    return f"agent-{user_id}"


def groups_for(payload: dict) -> list[str]:
    ticket = payload["ticket"]
    groups = [MANAGERS_GROUP, scope_group(ticket["language"], ticket["channel"])]
    if ticket["assignee_id"]:
        groups.append(agent_group(ticket["assignee_id"]))
    return groups


def publish_events(event_ids: list[int]) -> None:
    """Send committed events to their groups; a push failure never fails the write that caused it."""
    if not event_ids or not anyone_listening():
        return
    try:
        sends = []
        for payload in event_payloads(event_ids):
            # Serialised once here, not once per console socket.
            message = {"type": "desk.event", "text": json.dumps(payload, cls=DjangoJSONEncoder)}
            sends.extend((group, message) for group in groups_for(payload))
        group_send_many(sends)
    except Exception:
        # Consoles resync from their cursor on reconnect, so nothing is lost for good.
        log.exception("console push failed for events %s", event_ids[:5])


def broadcast_events_on_commit(event_ids: list[int]) -> None:
    """Publish after commit, once per transaction however many events it wrote."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        publish_events(event_ids)
        return
    batch = getattr(connection, "_console_batch", None)
    # A rolled-back (save)point drops its callbacks: then this batch's flush is gone, start anew.
    if batch is None or not any(func == batch.flush for _sids, func, _robust in connection.run_on_commit):
        batch = connection._console_batch = _Batch(connection)
        transaction.on_commit(batch.flush)
    batch.ids.extend(event_ids)


class _Batch:
    def __init__(self, connection):
        self.connection = connection
        self.ids: list[int] = []

    def flush(self) -> None:
        if getattr(self.connection, "_console_batch", None) is self:
            self.connection._console_batch = None
        publish_events(self.ids)


def send_to_agent_on_commit(user_id: int, payload: dict) -> None:
    """A message for one agent's consoles only (offers)."""
    message = {"type": "desk.event", "text": json.dumps(payload)}
    transaction.on_commit(lambda: group_send_many([(agent_group(user_id), message)]))


def regroup_consoles(user_id: int) -> None:
    """What the agent may work changed: their open consoles recompute their groups now.

    Called after the commit that changed it. A lost push costs little: every console also
    recomputes its groups on its next heartbeat.
    """
    try:
        group_send_many([(agent_group(user_id), {"type": "console.regroup"})])
    except Exception:
        log.warning("consoles of user %s not told to regroup", user_id, exc_info=True)
