"""Console events: every ticket change reaches the consoles that may see it, after commit.

Groups: ``queue-<id>`` (agents working that queue), ``agent-<id>`` (one agent),
``managers`` (User Support Managers). The event id is the resync cursor.
"""

import json
import logging

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction

from apps.console.push import group_send_many
from apps.console.selectors import event_payloads

log = logging.getLogger(__name__)

MANAGERS_GROUP = "managers"


def queue_group(queue_id: int) -> str:
    return f"queue-{queue_id}"


def agent_group(user_id: int) -> str:
    return f"agent-{user_id}"


def groups_for(payload: dict) -> list[str]:
    ticket = payload["ticket"]
    groups = [MANAGERS_GROUP]
    if ticket["queue"]:
        groups.append(queue_group(ticket["queue"]))
    if ticket["assignee_id"]:
        groups.append(agent_group(ticket["assignee_id"]))
    return groups


def publish_events(event_ids: list[int]) -> None:
    """Send committed events to their groups; a push failure never fails the write that caused it."""
    if not event_ids:
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
    transaction.on_commit(lambda: publish_events(event_ids))


def send_to_agent_on_commit(user_id: int, payload: dict) -> None:
    """A message for one agent's consoles only (offers)."""
    message = {"type": "desk.event", "text": json.dumps(payload)}
    transaction.on_commit(lambda: group_send_many([(agent_group(user_id), message)]))
