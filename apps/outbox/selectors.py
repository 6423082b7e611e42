"""Reads of the outbox for the manager's dead-letter list."""

from django.db.models import Count

from apps.outbox import registry
from apps.outbox.models import OutboxItem


def dead_letters(*, limit: int = 200) -> list[tuple[OutboxItem, str]]:
    """What the desk gave up sending, the newest first, each with what its deliverer says it is."""
    items = list(OutboxItem.objects.filter(status=OutboxItem.Status.DEAD).order_by("-created_at", "-pk")[:limit])
    described = {}
    for kind in {item.kind for item in items}:
        of_kind = [item for item in items if item.kind == kind]
        deliverer = registry.deliverer(kind)
        texts = deliverer.describe(of_kind) if deliverer and deliverer.describe else [item.key for item in of_kind]
        described.update({item.pk: text for item, text in zip(of_kind, texts, strict=True)})
    return [(item, described[item.pk]) for item in items]


def counts_by_status() -> dict[str, int]:
    return dict(OutboxItem.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
