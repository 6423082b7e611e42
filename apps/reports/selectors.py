"""SLA compliance figures for the User Support Manager's dashboard."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Count, F, Q

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
    def decided(self) -> int:
        return self.met + self.breached

    @property
    def compliance(self) -> float | None:
        """Share met on time among targets whose outcome is known."""
        return self.met / self.decided if self.decided else None


def sla_compliance(*, start: datetime, end: datetime, by: str) -> list[ComplianceRow]:
    """Met/breached/pending per ``by`` (channel, language or region) and target kind.

    Counts the targets of tickets received in [start, end).
    """
    field = {"channel": "ticket__channel", "language": "ticket__language", "region": "ticket__region__slug"}[by]
    rows = (
        SlaTarget.objects.filter(ticket__received_at__gte=start, ticket__received_at__lt=end)
        .values(field, "kind")
        .annotate(met=Count("pk", filter=ON_TIME), breached=Count("pk", filter=BREACHED),
                  pending=Count("pk", filter=PENDING))
        .order_by(field, "kind")
    )
    return [ComplianceRow(key=row[field] or "—", kind=row["kind"], met=row["met"], breached=row["breached"],
                          pending=row["pending"]) for row in rows]


def policy_targets() -> list[SlaPolicy]:
    return list(SlaPolicy.objects.order_by("response_seconds"))
