"""Writing to the outbox and delivering from it: retries with backoff, a time limit, dead letters.

``send_later`` and ``send_many_later`` write rows in the caller's transaction and queue a
delivery job for after the commit. ``deliver`` claims rows with a conditional UPDATE (a
row another worker holds, or one already sent, is skipped), calls the kind's deliverer
outside any transaction, and records each outcome. ``deliver_due`` is the sweep: it
reclaims rows a crashed worker left ``sending`` and delivers everything due, so the
outbox works without rq and after a Redis outage.
"""

import logging
import random
from collections import defaultdict
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from apps.outbox import registry
from apps.outbox.models import OutboxItem
from supportdesk.jobs import enqueue_on_commit

log = logging.getLogger(__name__)
Status = OutboxItem.Status


def send_later(*, kind: str, key: str, payload: dict) -> OutboxItem:
    """One row to deliver after the commit; asking again with the same kind and key changes nothing."""
    return send_many_later(kind=kind, items=[(key, payload)])[0]


def send_many_later(*, kind: str, items: list[tuple[str, dict]]) -> list[OutboxItem]:
    """Rows for a batch, delivered by one job (one SMTP connection for a batch's receipts)."""
    if registry.deliverer(kind) is None:
        raise ValueError(f"no deliverer is registered for outbox kind {kind!r}")
    if not items:
        return []
    now = timezone.now()
    expires = now + timedelta(seconds=max_age_seconds(kind))
    keys = [key for key, _payload in items]
    known = set(OutboxItem.objects.filter(kind=kind, key__in=keys).values_list("key", flat=True))
    OutboxItem.objects.bulk_create(
        [OutboxItem(kind=kind, key=key, payload=payload, next_attempt_at=now, expires_at=expires)
         for key, payload in items if key not in known], ignore_conflicts=True)
    # ignore_conflicts leaves primary keys unset, and a row asked for before stands for its key.
    rows = {row.key: row for row in OutboxItem.objects.filter(kind=kind, key__in=keys)}
    new = [rows[key].pk for key in dict.fromkeys(keys) if key not in known]
    if new:
        enqueue_on_commit(registry.deliverer(kind).queue, "apps.outbox.jobs.deliver_job", new)
    return [rows[key] for key in keys]


def deliver(*, item_ids: list[int]) -> dict[str, int]:
    """Deliver these rows if they are due and nobody holds them; safe to run twice. Counts by outcome."""
    now = timezone.now()
    with transaction.atomic():
        claimable = list(OutboxItem.objects.filter(pk__in=item_ids, status=Status.PENDING, next_attempt_at__lte=now)
                         .select_for_update(skip_locked=True).order_by("pk").values_list("pk", flat=True))
        OutboxItem.objects.filter(pk__in=claimable, status=Status.PENDING).update(
            status=Status.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    counts: dict[str, int] = defaultdict(int)
    by_kind = defaultdict(list)
    for item in OutboxItem.objects.filter(pk__in=claimable, status=Status.SENDING, claimed_at=now).order_by("pk"):
        by_kind[item.kind].append(item)
    for kind, items in by_kind.items():
        for item, outcome in zip(items, _outcomes(kind, items), strict=True):
            counts[_record(item, outcome)] += 1
    return dict(counts)


def _outcomes(kind: str, items: list[OutboxItem]) -> list[registry.Outcome]:
    deliverer = registry.deliverer(kind)
    if deliverer is None:
        return [registry.Dead(f"no deliverer is registered for outbox kind {kind!r}")] * len(items)
    try:
        outcomes = deliverer.deliver(items)
    except Exception as error:      # the deliverer itself broke: every row is tried again later
        log.exception("outbox deliverer for %s failed", kind)
        return [registry.Retry(f"{type(error).__name__}: {error}")] * len(items)
    if len(outcomes) != len(items):
        raise RuntimeError(f"the {kind} deliverer answered {len(outcomes)} outcomes for {len(items)} rows")
    return outcomes


def _record(item: OutboxItem, outcome: registry.Outcome) -> str:
    now = timezone.now()
    held = OutboxItem.objects.filter(pk=item.pk, status=Status.SENDING)
    if isinstance(outcome, registry.Sent):
        held.update(status=Status.SENT, sent_at=now, last_error="", claimed_at=None)
        return "sent"
    error = outcome.error[:2000]
    if isinstance(outcome, registry.Retry):
        at = now + timedelta(seconds=outcome.after if outcome.after is not None
                             else backoff_seconds(item.attempts, kind=item.kind))
        if at <= item.expires_at:
            held.update(status=Status.PENDING, next_attempt_at=at, last_error=error, claimed_at=None)
            return "retry"
        error = f"{error} (gave up after {item.attempts} attempts)"[:2000]
    timed_out = isinstance(outcome, registry.Retry)     # still passing when its time ran out, not refused
    held.update(status=Status.DEAD, last_error=error, claimed_at=None, timed_out=timed_out)
    log.warning("outbox %s %s is a dead letter: %s", item.kind, item.key, error)
    return "dead"


def backoff_seconds(attempts: int, *, kind: str = "") -> float:
    """Exponential from the kind's first delay (else OUTBOX_RETRY_BASE_SECONDS), capped, with jitter after the first.

    The first retry waits exactly the first delay (``JIRA_RETRY_BASE_SECONDS`` is documented as
    that). Later ones draw between half and all of the doubled delay: the jitter keeps a recovered
    server from being hit by every row that has been waiting for it at once.
    """
    deliverer = registry.deliverer(kind)
    base = (deliverer.retry_base_seconds() if deliverer and deliverer.retry_base_seconds
            else settings.OUTBOX_RETRY_BASE_SECONDS)
    if attempts <= 1:
        return min(settings.OUTBOX_RETRY_MAX_SECONDS, base)
    ceiling = min(settings.OUTBOX_RETRY_MAX_SECONDS, base * 2 ** (attempts - 1))
    return random.uniform(ceiling / 2, ceiling)


def max_age_seconds(kind: str) -> float:
    """How long a row of this kind is tried before it becomes a dead letter."""
    deliverer = registry.deliverer(kind)
    return deliverer.max_age_seconds() if deliverer and deliverer.max_age_seconds else settings.OUTBOX_MAX_AGE_SECONDS


def deliver_due(*, limit: int = 500) -> dict[str, int]:
    """The sweep: reclaim rows a crashed worker left sending, then deliver what is due (oldest first)."""
    now = timezone.now()
    reclaimed = OutboxItem.objects.filter(
        status=Status.SENDING, claimed_at__lt=now - timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS),
    ).update(status=Status.PENDING, next_attempt_at=now, claimed_at=None)
    if reclaimed:
        log.warning("reclaimed %d outbox rows a worker left sending", reclaimed)
    due = list(OutboxItem.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
               .order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    counts = deliver(item_ids=due) if due else {}
    return {**counts, "reclaimed": reclaimed} if reclaimed else counts


def retry(*, item_id: int) -> bool:
    """A manager sends a dead letter again: it gets a fresh time limit and goes out with the next sweep."""
    item = OutboxItem.objects.filter(pk=item_id).first()
    return item is not None and _send_again(item.kind, OutboxItem.objects.filter(pk=item_id)) > 0


def timed_out(*, kinds: list[str]) -> list[OutboxItem]:
    """The dead letters of these kinds that ran out of time (rather than being refused)."""
    return list(OutboxItem.objects.filter(kind__in=kinds, status=Status.DEAD, timed_out=True).order_by("pk"))


def revive_timed_out(*, kind: str, keys: list[str]) -> int:
    """The remote end answers again: these dead letters that ran out of time go out again, with a fresh limit.

    A letter refused for good (``registry.Dead``) stays dead: sending it again would only fail again.
    """
    rows = OutboxItem.objects.filter(kind=kind, key__in=keys, timed_out=True)
    revived = _send_again(kind, rows)
    if revived:
        log.info("outbox: %d %s dead letters that ran out of time are sent again", revived, kind)
    return revived


def _send_again(kind: str, rows) -> int:
    now = timezone.now()
    ids = list(rows.filter(status=Status.DEAD).values_list("pk", flat=True))
    revived = OutboxItem.objects.filter(pk__in=ids, status=Status.DEAD).update(
        status=Status.PENDING, next_attempt_at=now, timed_out=False,
        expires_at=now + timedelta(seconds=max_age_seconds(kind)))
    if revived:
        deliverer = registry.deliverer(kind)
        enqueue_on_commit(deliverer.queue if deliverer else "default", "apps.outbox.jobs.deliver_job", ids)
    return revived
