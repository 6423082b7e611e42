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
from supportdesk.jobs import enqueue

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


# Above this many events (an SLA sweep, a mailbox batch) the push runs as a job, off the writer's path:
# one agent action writes a handful; pushing hundreds inline would hold up the sweep or the import.
PUSH_INLINE_LIMIT = 20


def on_ticket_events(*, event_ids: list[int], **_signal) -> None:
    """Subscriber of ``apps.tickets.publish.ticket_events_committed``: push committed events to consoles."""
    if len(event_ids) > PUSH_INLINE_LIMIT:
        enqueue("default", "apps.console.jobs.broadcast_events_job", event_ids)
    else:
        publish_events(event_ids)


def on_offer_made(*, agent_id: int, frame: dict, **_signal) -> None:
    """Subscriber of ``apps.routing.signals.offer_made``: the offer reaches that agent's consoles only."""
    group_send_many([(agent_group(agent_id), {"type": "desk.event", "text": json.dumps(frame)})])


def on_misassigned(*, ticket, extension, **_signal) -> None:
    """Subscriber of ``apps.desk.signals.misassigned``: every manager's console hears it after the commit."""
    frame = {"type": "alert.misassigned", "ticket": ticket.reference, "extension": extension.name,
             "owner": extension.owner.name}

    def push():
        try:
            group_send_many([(MANAGERS_GROUP, {"type": "desk.event", "text": json.dumps(frame)})])
        except Exception:
            log.exception("misassignment push failed for %s", ticket.reference)   # the mail still goes

    transaction.on_commit(push)


def regroup_consoles(user_id: int) -> None:
    """What the agent may work changed: their open consoles recompute their groups now.

    Called after the commit that changed it. A lost push costs little: every console also
    recomputes its groups on its next heartbeat.
    """
    try:
        group_send_many([(agent_group(user_id), {"type": "console.regroup"})])
    except Exception:
        log.warning("consoles of user %s not told to regroup", user_id, exc_info=True)
