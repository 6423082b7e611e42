"""SLA compliance and chat ratings for the User Support Manager's dashboard."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q

from apps.chat.models import Conversation, Rating
from apps.policy.models import SlaPolicy
from apps.sla.models import SlaTarget

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
    return [ComplianceRow(key=row[field] or "—", kind=row["kind"], met=row["met"], breached=row["breached"],
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
