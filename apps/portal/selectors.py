"""What the owner portal reads: only through ``access.owner_tickets``, and never the agents' private notes."""

from django.db.models import Q, QuerySet

from apps.tickets.access import owner_tickets
from apps.tickets.models import Message, Ticket, TicketEvent

PAGE_SIZE = 50
# What an owner may read of a ticket's history: its course, not who in the vendor's team did what inside.
HISTORY_KINDS = [TicketEvent.Kind.OPENED, TicketEvent.Kind.STATUS, TicketEvent.Kind.TRIAGED,
                 TicketEvent.Kind.FORWARDING, TicketEvent.Kind.SLA]


def ticket_list(user, *, status: str = "") -> QuerySet[Ticket]:
    tickets = (owner_tickets(user).select_related("extension", "jira_link", "contact")
               .prefetch_related("sla_targets").order_by("-received_at", "-pk"))
    return tickets.filter(status=status) if status else tickets


def ticket(user, reference: str) -> Ticket | None:
    return (owner_tickets(user).select_related("extension__owner", "jira_link", "contact", "region")
            .prefetch_related("sla_targets").filter(reference=reference.upper()).first())


def thread(ticket: Ticket) -> list[Message]:
    """The user's messages, the desk's answers, and the notes agents shared with the owner."""
    shared = Q(direction=Message.Direction.NOTE, shared_with_owner=True)
    return list(ticket.messages.filter(~Q(direction=Message.Direction.NOTE) | shared)
                .select_related("author_user", "author_contact").prefetch_related("attachments")
                .order_by("created_at", "pk"))


def history(ticket: Ticket) -> list[TicketEvent]:
    return list(ticket.events.filter(kind__in=HISTORY_KINDS).order_by("created_at", "pk"))
