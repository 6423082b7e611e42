"""Bulk actions on the console's lists: each selected ticket on its own, through the one access rule and
the actions layer, so a refusal (another agent's ticket, a move the workflow forbids) stops only that ticket."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from apps.desk import actions
from apps.routing import services as routing
from apps.tickets import access
from apps.tickets import services as tickets
from apps.tickets.models import Ticket

MAX_TICKETS = 200
BULK_ACTIONS = ("take", "transfer", Ticket.Status.PENDING, Ticket.Status.RESOLVED)


@dataclass
class BulkResult:
    changed: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)   # (reference, why), safe to show


def bulk_act(*, user, references: list[str], action: str, to_agent=None) -> BulkResult:
    """Do ``action`` ("take": assign to me; "transfer" to ``to_agent``; or a status) on each ticket ``user``
    may act on; a transfer's agent must be able to work the ticket too (``routing.check_may_transfer``).

    A ticket outside the user's access is refused as not found, as it would be when opened.
    """
    if action not in BULK_ACTIONS or (action == "transfer" and to_agent is None):
        raise ValueError(action)
    result = BulkResult()
    for reference in list(dict.fromkeys(ref.strip().upper() for ref in references if ref.strip()))[:MAX_TICKETS]:
        ticket = Ticket.objects.filter(reference=reference).first()
        if ticket is None or not access.can_act_on(user, ticket):
            result.refused.append((reference, _("not found")))
            continue
        try:
            with transaction.atomic():
                _one(ticket=ticket, user=user, action=action, to_agent=to_agent)
        except (tickets.TicketError, routing.RoutingError) as error:
            result.refused.append((reference, str(error)))
        else:
            result.changed.append(reference)
    return result


def _one(*, ticket: Ticket, user, action: str, to_agent) -> None:
    if action == "transfer":
        if ticket.assignee_id == to_agent.pk:
            raise tickets.TicketError(_("already theirs"))
        actions.transfer_ticket(ticket=ticket, user=user, to_agent=to_agent)
    elif action == "take":
        if ticket.assignee_id == user.pk:
            raise tickets.TicketError(_("already yours"))
        actions.take_ticket(ticket=ticket, user=user)
    else:
        actions.change_status(ticket=ticket, to=action, actor=tickets.Actor(user=user))
