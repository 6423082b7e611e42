"""Reads for the User Support Manager's dashboard: SLA compliance and its trend, breaches,
misassignments and chat ratings for a period; live queues' waiting now.

Every read of a period counts the tickets *received* in it, so the breaches listed are the
breaches the compliance tables count. A ticket merged into another (a duplicate of the same
person's issue) keeps the targets decided before the merge, met or breached: each was a
request the person waited on. The clocks it still had running stopped applying at the merge
and are left out, so a duplicate merged in time is counted once, as its survivor, and a
merge never erases a breach.
"""

import statistics
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, tzinfo

from django.db.models import Count, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, TruncDay

from apps.chat.models import Conversation, Rating
from apps.policy.languages import Language
from apps.policy.models import ChannelRule, SlaPolicy
from apps.reports.periods import Period
from apps.routing.models import Queue
from apps.sla.models import SlaTarget
from apps.tickets import channels, vocabulary
from apps.tickets.models import Ticket, TicketEvent

ON_TIME = Q(met_at__isnull=False, met_at__lte=F("due_at"), breached_at__isnull=True)
BREACHED = Q(breached_at__isnull=False) | Q(met_at__gt=F("due_at"))
PENDING = Q(met_at__isnull=True, breached_at__isnull=True)


@dataclass(frozen=True)
class ComplianceRow:
    key: str
    kind: str
    met: int
    breached: int
    pending: int

    @property
    def kind_label(self) -> str:
        return str(SlaTarget.Kind(self.kind).label)

    @property
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def compliance(self) -> float | None:
        """Share met on time among targets whose outcome is known."""
        return self.met / self.decided if self.decided else None


def sla_compliance(*, start: datetime, end: datetime, by: str) -> list[ComplianceRow]:
    """Met/breached/pending per ``by`` (channel, language or region) and target kind.

    Counts the targets of tickets received in [start, end); a target that stopped applying
    (a caller who left the queue for voicemail in time) is left out.
    """
    field = {"channel": "ticket__channel", "language": "ticket__language", "region": "ticket__region__slug"}[by]
    rows = (
        SlaTarget.objects.filter(ticket__received_at__gte=start, ticket__received_at__lt=end,
                                 not_applicable_at__isnull=True)
        .values(field, "kind")
        .annotate(met=Count("pk", filter=ON_TIME), breached=Count("pk", filter=BREACHED),
                  pending=Count("pk", filter=PENDING))
        # Tickets without a region ("—") last, on SQLite too (it sorts NULL first).
        .order_by(F(field).asc(nulls_last=True), "kind")
    )
    return [ComplianceRow(key=row[field] or "", kind=row["kind"], met=row["met"], breached=row["breached"],
                          pending=row["pending"]) for row in rows]


def policy_targets() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.order_by("response_seconds"))


@dataclass(frozen=True)
class RatingRow:
    language: str
    ended: int
    good: int
    bad: int

    @property
    def rated(self) -> int:
        return self.good + self.bad

    @property
    def good_share(self) -> float | None:
        return self.good / self.rated if self.rated else None


def chat_ratings(*, start: datetime, end: datetime) -> list[RatingRow]:
    """Per chat language: chats ended, and how their visitors rated them, for chats started in [start, end)."""
    rows = (Conversation.objects.filter(started_at__gte=start, started_at__lt=end, state=Conversation.State.ENDED)
            .values("language").annotate(ended=Count("pk"), good=Count("pk", filter=Q(rating=Rating.GOOD)),
                                         bad=Count("pk", filter=Q(rating=Rating.BAD)))
            .order_by("language"))
    return [RatingRow(language=row["language"], ended=row["ended"], good=row["good"], bad=row["bad"]) for row in rows]


@dataclass(frozen=True)
class TrendPoint:
    bucket: date            # the day, or the Monday of the week
    channel: str
    met: int
    breached: int

    @property
    def compliance(self) -> float | None:
        decided = self.met + self.breached
        return self.met / decided if decided else None


def compliance_trend(*, period: Period, today: date) -> list[TrendPoint]:
    """Met and breached targets per channel and day (per week for a long period) of the tickets' arrival,
    in the period's time zone; a point for every channel with targets in the period and every bucket."""
    rows = (SlaTarget.objects.filter(ticket__received_at__gte=period.start,
                                     ticket__received_at__lt=period.end, not_applicable_at__isnull=True)
            .annotate(day=TruncDay("ticket__received_at", tzinfo=period.zone))
            .values("day", "ticket__channel")
            .annotate(met=Count("pk", filter=ON_TIME), breached=Count("pk", filter=BREACHED)))
    counts: dict[tuple[date, str], list[int]] = defaultdict(lambda: [0, 0])
    for row in rows:
        tally = counts[(period.bucket_of(_local_date(row["day"], period.zone)), row["ticket__channel"])]
        tally[0] += row["met"]
        tally[1] += row["breached"]
    names = [name for name in channels.REGISTRY if any(channel == name for _b, channel in counts)]
    return [TrendPoint(bucket=bucket, channel=name, met=counts.get((bucket, name), [0, 0])[0],
                       breached=counts.get((bucket, name), [0, 0])[1])
            for bucket in period.buckets(today=today) for name in names]


def _local_date(value, zone: tzinfo) -> date:
    # PostgreSQL gives an aware datetime at the local midnight; SQLite may give a date or a naive datetime.
    if isinstance(value, datetime):
        return value.astimezone(zone).date() if value.tzinfo else value.date()
    return value


@dataclass(frozen=True)
class Breach:
    reference: str
    channel: str
    language: str
    region: str
    status: str
    kind: str
    due_at: datetime
    met_at: datetime | None
    late_seconds: float     # met late: by how much; still unmet: so far


def breaches(*, start: datetime, end: datetime, now: datetime, limit: int | None = None) -> list[Breach]:
    """Targets missed (breached, or met after the deadline) of tickets received in [start, end), earliest due first."""
    targets = (SlaTarget.objects.filter(BREACHED, ticket__received_at__gte=start,
                                        ticket__received_at__lt=end, not_applicable_at__isnull=True)
               .select_related("ticket__region").order_by("due_at", "pk"))
    return [Breach(reference=t.ticket.reference, channel=t.ticket.channel, language=t.ticket.language,
                   region=t.ticket.region.slug if t.ticket.region else "", status=t.ticket.status, kind=t.kind,
                   due_at=t.due_at, met_at=t.met_at, late_seconds=((t.met_at or now) - t.due_at).total_seconds())
            for t in (targets[:limit] if limit else targets)]


@dataclass(frozen=True)
class Misassignment:
    reference: str
    at: datetime
    extension: str          # the extension's slug
    owner: str              # its owner's name
    reason: str
    status: str             # the ticket's status now


def misassignments(*, start: datetime, end: datetime) -> list[Misassignment]:
    """Tickets an owner returned as "not ours" in [start, end), the latest first."""
    from apps.owners.models import Extension

    events = list(TicketEvent.objects.filter(kind=TicketEvent.Kind.TRIAGED, data__has_key="returned_from",
                                             created_at__gte=start, created_at__lt=end)
                  .select_related("ticket").order_by("-created_at", "-pk"))
    shapes = [(event, vocabulary.details(event.kind, event.data)) for event in events]
    owners = dict(Extension.objects.filter(slug__in={shape.returned_from for _e, shape in shapes})
                  .values_list("slug", "owner__name"))
    return [Misassignment(reference=event.ticket.reference, at=event.created_at, extension=shape.returned_from,
                          owner=owners.get(shape.returned_from, ""), reason=shape.reason or "",
                          status=event.ticket.status) for event, shape in shapes]


@dataclass(frozen=True)
class LiveQueue:
    language: str
    channel: str
    waiting: int
    longest_seconds: float | None
    median_seconds: float | None


def live_queues(*, now: datetime) -> list[LiveQueue]:
    """Per language and live channel the policy serves: who waits for a person now, and for how long.

    A wait starts when the user began waiting for a person (the live answer target's start),
    else at arrival; work an agent holds, or that became async (a voicemail), is not waiting.
    """
    live = channels.live_channels()
    waiting = (Ticket.objects.filter(Q(queue__isnull=True) | Q(queue__kind=Queue.Kind.LIVE), channel__in=live,
                                     status__in=("new", "open"), assignee__isnull=True)
               .annotate(since=Coalesce(_answer_started(), "received_at"))
               .values_list("language", "channel", "since"))
    waits: dict[tuple[str, str], list[float]] = defaultdict(list)
    for language, channel, since in waiting:
        waits[(language, channel)].append(max(0.0, (now - since).total_seconds()))
    served = {(language, rule.channel) for rule in ChannelRule.objects.filter(channel__in=live)
              for language in rule.languages}
    order = {code: n for n, code in enumerate(Language.values)}
    keys = sorted(served | set(waits), key=lambda key: (live.index(key[1]), order.get(key[0], len(order))))
    return [LiveQueue(language=language, channel=channel, waiting=len(waits[(language, channel)]),
                      longest_seconds=max(waits[(language, channel)], default=None),
                      median_seconds=statistics.median(waits[(language, channel)])
                      if waits[(language, channel)] else None) for language, channel in keys]


def _answer_started() -> Subquery:
    return Subquery(SlaTarget.objects.filter(ticket=OuterRef("pk"), kind=SlaTarget.Kind.FIRST_RESPONSE)
                    .values("started_at")[:1])
