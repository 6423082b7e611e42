"""An extension owner's quarterly report: every ticket created for their extensions in a quarter.

The numbers come from the desk's own rows (tickets, SLA targets, typed history events, Jira
links), read once per report; only the owner's extensions' tickets are ever read, so owner A's
report cannot hold owner B's tickets.
"""

import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from apps.jira_sync.models import JiraLink
from apps.owners.models import ExtensionOwner
from apps.reports.quarters import Quarter
from apps.sla.models import SlaTarget
from apps.tickets import vocabulary
from apps.tickets.models import Ticket, TicketEvent

Status = Ticket.Status
# The report's three buckets of the policy ("resolved, pending/unanswered"), and the vendor's own.
RESOLVED, PENDING, UNANSWERED, WITH_VENDOR = "resolved", "pending_with_owner", "unanswered", "with_vendor"
BUCKETS = (RESOLVED, PENDING, UNANSWERED, WITH_VENDOR)
DIMENSIONS = ("extension", "category", "channel", "language", "region")


@dataclass(frozen=True)
class Line:
    """One ticket of the report (a CSV row)."""

    reference: str
    received_at: datetime
    status: str
    bucket: str
    extension: str
    category: str
    channel: str
    language: str
    region: str
    jira_key: str
    acknowledge_seconds: float | None
    acknowledge_met: bool | None      # None: still running (or no clock)
    response_seconds: float | None
    response_met: bool | None
    resolution_seconds: float | None  # from forwarded to resolved by the owner


@dataclass(frozen=True)
class Times:
    """Durations of one kind: median, 90th percentile, and the share that met the policy's target."""

    count: int
    median_seconds: float | None
    p90_seconds: float | None
    met_share: float | None

    @classmethod
    def of(cls, seconds: list[float], met: list[bool]) -> "Times":
        ordered = sorted(seconds)
        return cls(count=len(ordered),
                   median_seconds=statistics.median(ordered) if ordered else None,
                   p90_seconds=percentile(ordered, 0.9),
                   met_share=(sum(met) / len(met)) if met else None)


@dataclass
class OwnerReport:
    owner: ExtensionOwner
    quarter: Quarter
    lines: list[Line]
    buckets: Counter
    by: dict[str, Counter]
    acknowledge: Times
    response: Times
    resolution: Times
    misassigned: list[tuple[str, str, datetime]]        # (reference, extension slug, when)
    previous_total: int = 0
    previous_buckets: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return len(self.lines)

    @property
    def change(self) -> int:
        return self.total - self.previous_total


def percentile(ordered: list[float], share: float) -> float | None:
    """The nearest-rank percentile of sorted values (p90 of 10 values is the 9th)."""
    if not ordered:
        return None
    rank = max(1, -(-int(share * 1000) * len(ordered) // 1000))      # ceil(share * n) without floats
    return ordered[min(rank, len(ordered)) - 1]


def owners_tickets(owner: ExtensionOwner, quarter: Quarter):
    """The owner's tickets received in the quarter; one merged into another is counted as the survivor."""
    return Ticket.objects.filter(extension__owner=owner, received_at__gte=quarter.start, received_at__lt=quarter.end,
                                 merged_into__isnull=True)


def build(owner: ExtensionOwner, quarter: Quarter) -> OwnerReport:
    tickets = list(owners_tickets(owner, quarter).select_related("extension", "region").order_by("received_at", "pk"))
    ids = [ticket.pk for ticket in tickets]
    links = {link.ticket_id: link for link in JiraLink.objects.filter(ticket_id__in=ids)}
    targets = {(target.ticket_id, target.kind): target for target in SlaTarget.objects.filter(
        ticket_id__in=ids, kind__in=[SlaTarget.Kind.ACKNOWLEDGE, SlaTarget.Kind.FIRST_RESPONSE])}
    forwarded_at = _first_moves(ids, to=Status.FORWARDED)
    resolved_at = _first_moves(ids, to=Status.RESOLVED)
    lines = [_line(ticket, links.get(ticket.pk), targets, forwarded_at, resolved_at) for ticket in tickets]
    by = {dimension: Counter(getattr(line, dimension) for line in lines) for dimension in DIMENSIONS}
    previous = list(owners_tickets(owner, quarter.previous).select_related("jira_link"))
    return OwnerReport(
        owner=owner, quarter=quarter, lines=lines, buckets=Counter(line.bucket for line in lines), by=by,
        acknowledge=_times(lines, "acknowledge"), response=_times(lines, "response"),
        resolution=Times.of([line.resolution_seconds for line in lines if line.resolution_seconds is not None], []),
        misassigned=_misassigned(owner, quarter), previous_total=len(previous),
        previous_buckets=Counter(bucket_of(ticket, getattr(ticket, "jira_link", None)) for ticket in previous))


def bucket_of(ticket: Ticket, link: JiraLink | None) -> str:
    if ticket.status in (Status.RESOLVED, Status.CLOSED):
        return RESOLVED
    if ticket.status == Status.FORWARDED:
        return PENDING if link is not None and link.owner_acted_at else UNANSWERED
    return WITH_VENDOR          # a Trained Specialist question, or not yet forwarded


def _line(ticket, link, targets, forwarded_at, resolved_at) -> Line:
    acknowledge = targets.get((ticket.pk, SlaTarget.Kind.ACKNOWLEDGE))
    response = targets.get((ticket.pk, SlaTarget.Kind.FIRST_RESPONSE))
    forwarded, resolved = forwarded_at.get(ticket.pk), resolved_at.get(ticket.pk)
    return Line(
        reference=ticket.reference, received_at=ticket.received_at, status=ticket.status,
        bucket=bucket_of(ticket, link), extension=ticket.extension.slug if ticket.extension else "",
        category=ticket.category, channel=ticket.channel, language=ticket.language,
        region=ticket.region.slug if ticket.region else "", jira_key=link.issue_key if link else "",
        acknowledge_seconds=_seconds(ticket.received_at, ticket.acknowledged_at),
        acknowledge_met=_met(acknowledge),
        response_seconds=_seconds(ticket.received_at, ticket.first_response_at), response_met=_met(response),
        resolution_seconds=_seconds(forwarded, resolved) if forwarded and resolved and resolved > forwarded else None)


def _times(lines: list[Line], kind: str) -> Times:
    seconds = [getattr(line, f"{kind}_seconds") for line in lines if getattr(line, f"{kind}_seconds") is not None]
    met = [getattr(line, f"{kind}_met") for line in lines if getattr(line, f"{kind}_met") is not None]
    return Times.of(seconds, met)


def _met(target: SlaTarget | None) -> bool | None:
    if target is None or target.not_applicable_at:
        return None
    if target.breached:
        return False
    return True if target.met_at else None


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start and end else None


def _first_moves(ticket_ids: list[int], *, to: str) -> dict[int, datetime]:
    """When each ticket first moved to ``to`` (its history's typed status events)."""
    moves: dict[int, datetime] = {}
    events = (TicketEvent.objects.filter(ticket_id__in=ticket_ids, kind=TicketEvent.Kind.STATUS, data__to=to)
              .order_by("created_at", "pk").values_list("ticket_id", "created_at"))
    for ticket_id, at in events:
        moves.setdefault(ticket_id, at)
    return moves


def _misassigned(owner: ExtensionOwner, quarter: Quarter) -> list[tuple[str, str, datetime]]:
    """Tickets triaged to this owner's extensions in the quarter that the owner returned as not theirs."""
    slugs = list(owner.extensions.values_list("slug", flat=True))
    events = (TicketEvent.objects.filter(kind=TicketEvent.Kind.TRIAGED, data__returned_from__in=slugs,
                                         created_at__gte=quarter.start, created_at__lt=quarter.end)
              .select_related("ticket").order_by("created_at"))
    return [(event.ticket.reference, vocabulary.details(event.kind, event.data).returned_from, event.created_at)
            for event in events]
