"""The console home's views (mine, unassigned, waiting on customer, breached, all in my queues, resolved).

Each view is the search's ``ticket_list`` (the one access rule and the one filter chain) with
the view's own narrowing on top, so a filter chosen on the home page means what it means in
the search, and an agent never sees a ticket outside their queues in any view or count.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db.models import F, OuterRef, QuerySet, Subquery
from django.utils.translation import gettext_lazy as _

from apps.sla.models import SlaTarget
from apps.tickets import channels
from apps.tickets.models import Ticket
from apps.tickets.selectors import ticket_list

OPEN = (Ticket.Status.NEW, Ticket.Status.OPEN, Ticket.Status.PENDING)
DONE = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)


@dataclass(frozen=True)
class View:
    name: str
    label: str
    narrow: Callable[[QuerySet, object], QuerySet]
    sort: str = "sla"
    filters: dict = field(default_factory=dict)   # keyword arguments of ``ticket_list`` the view fixes


VIEWS = {view.name: view for view in (
    View("queue", _("All in my queues"), lambda tickets, user: tickets.filter(status__in=OPEN)),
    View("mine", _("Mine"), lambda tickets, user: tickets.filter(status__in=OPEN, assignee=user)),
    View("unassigned", _("Unassigned"), lambda tickets, user: tickets.filter(status__in=OPEN, assignee__isnull=True)),
    View("waiting", _("Waiting on customer"),
         lambda tickets, user: tickets.filter(status=Ticket.Status.PENDING, assignee=user)),
    View("breached", _("Breached"), lambda tickets, user: tickets.filter(status__in=OPEN),
         filters={"breached": True}),
    View("resolved", _("Resolved"), lambda tickets, user: tickets.filter(status__in=DONE), sort="resolved"),
)}
DEFAULT = VIEWS["queue"]

# Each sort: its label and its ORDER BY; ties fall to the older ticket, then the lower id.
SORTS = {
    "sla": (_("SLA due"), (F("next_due").asc(nulls_last=True), "received_at", "pk")),
    "waiting": (_("Waiting longest"), ("received_at", "pk")),
    "received": (_("Received, newest first"), ("-received_at", "-pk")),
    "resolved": (_("Resolved, newest first"), (F("resolved_at").desc(nulls_last=True), "-pk")),
}


def tickets_of(*, user, view: View, filters: dict | None = None) -> QuerySet[Ticket]:
    """The view's tickets that ``user`` may see, narrowed by the search's ``filters``.

    A ticket merged into another is that one's work now: listed and counted once, as the survivor.
    """
    tickets = ticket_list(user=user, **{**(filters or {}), **view.filters}).filter(merged_into__isnull=True)
    return view.narrow(tickets, user)


def worklist(*, user, view: View, filters: dict | None = None, sort: str = "", limit: int = 200) -> list[Ticket]:
    """The view's rows for one page: sorted as asked (else the view's own order), at most ``limit``."""
    next_due = SlaTarget.objects.filter(ticket=OuterRef("pk"), met_at__isnull=True,
                                        not_applicable_at__isnull=True).order_by("due_at")
    rows = list((tickets_of(user=user, view=view, filters=filters)
                 .annotate(next_due=Subquery(next_due.values("due_at")[:1]))
                 .select_related("assignee__agent_profile", "queue").prefetch_related("sla_targets")
                 .order_by(*SORTS[sort if sort in SORTS else view.sort][1]))[:limit])
    live = channels.live_ones(rows)
    for row in rows:
        row.live = row.pk in live       # a person waits on it now: the page counts it as live work
    return rows


def counts(*, user) -> dict[str, int]:
    """How many tickets each view holds for ``user`` (without the page's filters)."""
    return {name: tickets_of(user=user, view=view).count() for name, view in VIEWS.items()}
