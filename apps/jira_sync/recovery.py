"""After an owner's Jira outage that outlasted ``JIRA_MAX_AGE_SECONDS``: its forwards and comments go out again.

A forward or comment that kept failing until its time ran out is a dead letter, listed for the
manager; but the outage ends by itself, so its letters should not wait for a click. As soon as
the owner's Jira is seen answering again (a delivery to it went through, the periodic read-back
reached it, or a probe of an owner with such letters did), those letters are sent again. One
refused for good (a configuration error) stays dead: the manager is alerted about those, and
configuring the owner again sends them (``forwarding.forward_waiting``).
"""

import logging

import requests
from jira.exceptions import JIRAError

from apps.jira_sync import comments, forwarding
from apps.jira_sync.client import client_for
from apps.jira_sync.models import JiraConnection, JiraLink
from apps.outbox import registry
from apps.outbox import services as outbox
from apps.tickets.models import Message

log = logging.getLogger(__name__)
KINDS = [forwarding.KIND, comments.KIND]


def owners_of(letters) -> dict[int, int]:
    """outbox row id → the owner whose Jira the forward or comment goes to (rows of a gone ticket are left out)."""
    ticket_of_message = dict(Message.objects.filter(
        pk__in=[item.payload.get("message") for item in letters if item.kind == comments.KIND])
        .values_list("pk", "ticket_id"))
    ticket_of = {item.pk: item.payload.get("ticket") if item.kind == forwarding.KIND
                 else ticket_of_message.get(item.payload.get("message")) for item in letters}
    owner_of_ticket = dict(JiraLink.objects.filter(ticket_id__in={t for t in ticket_of.values() if t})
                           .values_list("ticket_id", "owner_id"))
    return {pk: owner_of_ticket[ticket] for pk, ticket in ticket_of.items() if ticket in owner_of_ticket}


def waiting_by_owner() -> dict[int, dict[str, list[str]]]:
    """owner id → kind → keys of the dead letters that ran out of time."""
    letters = outbox.timed_out(kinds=KINDS)
    owners = owners_of(letters)
    waiting: dict[int, dict[str, list[str]]] = {}
    for item in letters:
        if item.pk in owners:
            waiting.setdefault(owners[item.pk], {}).setdefault(item.kind, []).append(item.key)
    return waiting


def resuming(deliver):
    """A deliverer for forwards or comments that, when one goes through, sends again the owner's timed-out ones."""
    def deliver_and_resume(items):
        outcomes = deliver(items)
        sent = [item for item, outcome in zip(items, outcomes, strict=True) if isinstance(outcome, registry.Sent)]
        if sent and (waiting := waiting_by_owner()):
            _send_again(waiting, answering=set(owners_of(sent).values()))
        return outcomes
    return deliver_and_resume


def resend_where_jira_answers(*, answered: set[int]) -> int:
    """The periodic read-back reached ``answered`` owners' Jira; each other owner with letters that ran out of
    time is asked (``myself``) whether its Jira is back. Where it answers, those letters go out again. How many."""
    waiting = waiting_by_owner()
    if not waiting:
        return 0
    answering = set(answered)
    for connection in JiraConnection.objects.filter(owner_id__in=waiting.keys() - answered).select_related("owner"):
        try:
            client_for(connection).myself()
        except (JIRAError, requests.RequestException) as error:
            log.info("%s's Jira is still away: %s", connection.owner, error)
            continue
        answering.add(connection.owner_id)
    return _send_again(waiting, answering=answering)


def _send_again(waiting: dict[int, dict[str, list[str]]], *, answering: set[int]) -> int:
    revived = 0
    for owner_id in answering & waiting.keys():
        for kind, keys in waiting[owner_id].items():
            revived += outbox.revive_timed_out(kind=kind, keys=keys)
    return revived
