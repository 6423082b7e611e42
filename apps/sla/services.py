"""SLA clocks: start them on a ticket, meet them, sweep for warnings and breaches.

Two targets per ticket: *acknowledge* (business hours of the ticket's region) and
*first response* (email/feedback inside the 24x5 window; chat and calls in wall
time). Deadlines are computed once, stored, and recomputed only when the policy
changes, so the sweep is an indexed ``due_at <= now`` query.

This app writes its own targets only: what happened to a clock comes back as
``ClockEvent``s, which ``apps.desk.actions`` records on the ticket.
"""

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.policy.businesstime import CalendarError, calendar_for
from apps.policy.languages import Channel
from apps.policy.models import Region, SlaPolicy
from apps.policy.services import PolicyError, channel_rule, region_calendar, window_spec
from apps.sla.models import SlaTarget
from apps.tickets.models import Ticket
from supportdesk.bulkupdate import update_rows
from supportdesk.jobs import enqueue_on_commit
from supportdesk.readonce import once

log = logging.getLogger(__name__)

Kind = SlaTarget.Kind


@dataclass(frozen=True)
class ClockEvent:
    """One target met, warned or breached: the ticket event the action records for it."""

    ticket_id: int
    target: str
    event: str          # "met", "warning" or "breached"
    at: datetime
    due_at: datetime

    def data(self) -> dict:
        data = {"target": self.target, "event": self.event, "due_at": self.due_at.isoformat()}
        if self.event == "met":
            data["late"] = self.at > self.due_at
        return data


@dataclass(frozen=True)
class Deadline:
    kind: str
    clock: str
    target_seconds: int
    due_at: datetime
    warn_at: datetime


def sla_policy(channel: str) -> SlaPolicy:
    policy = once(("sla-policy", channel), lambda: SlaPolicy.objects.filter(channel=channel).first())
    if policy is None:
        raise PolicyError(_("No SLA policy is configured for the %(channel)s channel.") % {"channel": channel})
    return policy


def _adder(*, clock: str, channel: str, region: Region | None):
    """``add(start, seconds)`` on the clock's calendar, looked up once for both due and warning."""
    if clock == SlaPolicy.Clock.WALL:
        return lambda start, seconds: (start + timedelta(seconds=seconds)).astimezone(UTC)
    if clock == SlaPolicy.Clock.WINDOW:
        rule = channel_rule(channel)
        if rule.window is None:
            raise PolicyError(_("The %(channel)s channel has no service window.") % {"channel": channel})
        return calendar_for(window_spec(rule.window)).add_business_time
    if region is None:
        raise PolicyError(_("A region is needed for business-hours clocks."))
    return region_calendar(region).add_business_time


def _deadline(*, kind: str, clock: str, seconds: int, share: float, channel: str,
              region: Region | None, start: datetime) -> Deadline:
    add = _adder(clock=clock, channel=channel, region=region)
    return Deadline(kind=kind, clock=clock, target_seconds=seconds, due_at=add(start, seconds),
                    warn_at=add(start, int(seconds * share)))


def compute_deadlines(*, channel: str, region: Region | None, received: datetime,
                      waiting_since: datetime | None = None) -> list[Deadline]:
    """The deadlines a ticket of this channel and region gets; raises PolicyError on bad input."""
    if received.tzinfo is None or (waiting_since and waiting_since.tzinfo is None):
        raise PolicyError(_("A time zone is required (naive datetime)."))
    policy = sla_policy(channel)
    deadlines = []
    try:
        if region is not None:
            deadlines.append(_deadline(
                kind=Kind.ACKNOWLEDGE, clock=SlaPolicy.Clock.REGION, seconds=policy.acknowledge_seconds,
                share=policy.warning_share, channel=channel, region=region, start=received))
        deadlines.append(_deadline(
            kind=Kind.FIRST_RESPONSE, clock=policy.response_clock, seconds=policy.response_seconds,
            share=policy.warning_share, channel=channel, region=region, start=waiting_since or received))
    except CalendarError as error:
        raise PolicyError(str(error)) from error
    return deadlines


def preview(*, region: Region, channel: str, received: datetime) -> dict[str, datetime]:
    """``{"acknowledge_due", "response_due"}`` for a ticket received now in this region."""
    deadlines = {d.kind: d.due_at for d in compute_deadlines(channel=channel, region=region, received=received)}
    return {"acknowledge_due": deadlines[Kind.ACKNOWLEDGE], "response_due": deadlines[Kind.FIRST_RESPONSE]}


def start_clocks_many(items: list[tuple[Ticket, datetime | None]]
                      ) -> tuple[list[SlaTarget], list[tuple[Ticket, PolicyError]]]:
    """Start the clocks of many tickets in one statement: the targets, and the tickets the policy could not time.

    A ticket received while closed counts from the next opening; ``waiting_since``
    (paired with each ticket) is when a live user started waiting for a person (chat
    queue, phone queue), else the receipt. Deadlines are all computed before anything
    is written, so a ticket the policy cannot time (a gap in the configuration)
    leaves no partial clocks and never stops the others.
    """
    targets, failures = [], []
    for ticket, waiting_since in items:
        try:
            deadlines = compute_deadlines(channel=ticket.channel, region=ticket.region,
                                          received=ticket.received_at, waiting_since=waiting_since)
        except PolicyError as error:
            failures.append((ticket, error))
            continue
        targets.extend(
            SlaTarget(ticket=ticket, kind=d.kind, clock=d.clock, target_seconds=d.target_seconds,
                      started_at=(waiting_since if d.kind == Kind.FIRST_RESPONSE and waiting_since
                                  else ticket.received_at),
                      due_at=d.due_at, warn_at=d.warn_at)
            for d in deadlines)
        if ticket.region is None:
            log.warning("ticket %s has no region: no acknowledgement clock", ticket.reference)
    if targets:
        # One statement; a second start (a retried intake) restarts the clocks instead of failing.
        SlaTarget.objects.bulk_create(
            targets, update_conflicts=True, unique_fields=["ticket", "kind"],
            update_fields=["clock", "target_seconds", "started_at", "due_at", "warn_at"])
    return targets, failures


def _meet(*, ticket: Ticket, kinds: list[str], at: datetime) -> list[ClockEvent]:
    met = []
    for target in SlaTarget.objects.filter(ticket=ticket, kind__in=kinds, met_at__isnull=True,
                                           not_applicable_at__isnull=True):
        if SlaTarget.objects.filter(pk=target.pk, met_at__isnull=True).update(met_at=at):
            met.append(ClockEvent(ticket_id=ticket.pk, target=target.kind, event="met", at=at, due_at=target.due_at))
    return met


def record_response(*, ticket: Ticket, at: datetime) -> list[ClockEvent]:
    """A person answered (a reply, a call picked up, a caller called back): every response target is met."""
    return _meet(ticket=ticket, kinds=[Kind.FIRST_RESPONSE, Kind.CALLBACK, Kind.ACKNOWLEDGE], at=at)


def set_aside_live_answers(handbacks: list[tuple[Ticket, datetime]]) -> list[ClockEvent]:
    """Callers who left the live queue unanswered (voicemail, a callback, a hang-up), ``(ticket, when)``
    each: their answer clocks stop, in two statements for all.

    Before its deadline a target no longer applies: recorded, and left out of compliance.
    At or after it, it was breached (whether or not the sweep has seen it yet).
    """
    at_of = {ticket.pk: at for ticket, at in handbacks}
    # Locked: the sweep marking one breached at this moment either did (it is no longer running) or waits.
    targets = list(running_targets().select_for_update().filter(ticket__in=at_of, kind=Kind.FIRST_RESPONSE)
                   .order_by("pk"))
    events = []
    for target in targets:
        at = at_of[target.ticket_id]
        breached = at >= target.due_at
        target.breached_at, target.not_applicable_at = (at, None) if breached else (None, at)
        events.append(ClockEvent(ticket_id=target.ticket_id, target=target.kind, at=at, due_at=target.due_at,
                                 event="breached" if breached else "not_applicable"))
    update_rows(targets, ["breached_at", "not_applicable_at"])
    return events


def set_aside(*, ticket: Ticket, at: datetime) -> int:
    """The ticket's work goes on elsewhere (merged into another ticket): its running clocks stop applying.

    Met and breached targets keep their history. Returns how many targets were set aside.
    """
    return running_targets().filter(ticket=ticket).update(not_applicable_at=at)


def start_callback_clocks(handbacks: list[tuple[Ticket, datetime]]) -> list[tuple[Ticket, PolicyError]]:
    """The async answer each call now waits for, ``(ticket, from when)``: the email channel's response
    target. A repeated start (Twilio repeats a webhook) keeps the first deadline.

    Returns the tickets the policy has no clock for, with why (a region without hours).
    """
    started, failures = [], []
    regions = Region.objects.in_bulk({ticket.region_id for ticket, _at in handbacks} - {None})
    for ticket, at in handbacks:
        try:
            region = regions.get(ticket.region_id)
            deadline = next(d for d in compute_deadlines(channel=Channel.EMAIL, region=region, received=at)
                            if d.kind == Kind.FIRST_RESPONSE)
        except PolicyError as error:
            failures.append((ticket, error))
            continue
        started.append(SlaTarget(ticket=ticket, kind=Kind.CALLBACK, clock=deadline.clock,
                                 target_seconds=deadline.target_seconds, started_at=at, due_at=deadline.due_at,
                                 warn_at=deadline.warn_at))
    SlaTarget.objects.bulk_create(started, ignore_conflicts=True)
    return failures


def record_acknowledgement(*, ticket: Ticket, at: datetime) -> list[ClockEvent]:
    """A person triaged the ticket: the acknowledgement is met."""
    return _meet(ticket=ticket, kinds=[Kind.ACKNOWLEDGE], at=at)


def running_targets():
    return SlaTarget.objects.filter(met_at__isnull=True, breached_at__isnull=True, not_applicable_at__isnull=True)


def recompute_running_targets(*, region_id: int | None = None) -> int:
    """Recompute deadlines of running targets after a policy edit; met and breached ones keep their history."""
    targets = running_targets().select_related("ticket__region")
    if region_id is not None:
        targets = targets.filter(ticket__region_id=region_id)
    changed = 0
    for target in targets.iterator(chunk_size=500):
        ticket = target.ticket
        waiting_since = target.started_at if target.kind == Kind.FIRST_RESPONSE else None
        callback = target.kind == Kind.CALLBACK     # the async clock, from when the call became async work
        try:
            deadlines = compute_deadlines(channel=Channel.EMAIL if callback else ticket.channel, region=ticket.region,
                                          received=target.started_at if callback else ticket.received_at,
                                          waiting_since=waiting_since)
        except PolicyError as error:
            log.warning("cannot recompute %s of %s: %s", target.kind, ticket.reference, error)
            continue
        for deadline in deadlines:
            kind = Kind.CALLBACK if callback and deadline.kind == Kind.FIRST_RESPONSE else deadline.kind
            if kind == target.kind and (deadline.due_at, deadline.warn_at) != (target.due_at, target.warn_at):
                changed += SlaTarget.objects.filter(pk=target.pk, met_at__isnull=True, breached_at__isnull=True).update(
                    due_at=deadline.due_at, warn_at=deadline.warn_at, clock=deadline.clock,
                    target_seconds=deadline.target_seconds)
    return changed


def request_recompute(*, region_id: int | None = None) -> None:
    """Queue a recomputation once the policy edit is committed."""
    enqueue_on_commit("sla", "apps.sla.jobs.recompute_running_targets_job", region_id)


@dataclass
class SweepResult:
    breached: list[int] = field(default_factory=list)
    warned: list[int] = field(default_factory=list)
    events: list[ClockEvent] = field(default_factory=list)


def _claim(queryset, *, limit: int) -> list[tuple[int, int, str, datetime]]:
    # SKIP LOCKED lets two sweepers run at once without claiming the same target twice.
    return list(queryset.select_for_update(skip_locked=True).order_by()
                .values_list("pk", "ticket_id", "kind", "due_at")[:limit])


@transaction.atomic
def sweep(*, now: datetime | None = None, limit: int = 10_000) -> SweepResult:
    """Mark breaches and warnings that have fallen due; notify on commit.

    Call it through ``apps.desk.actions.do_sweep_sla``, which records ``result.events``
    on the tickets in the same transaction.
    """
    now = now or timezone.now()
    result = SweepResult()
    breaching = _claim(running_targets().filter(due_at__lte=now), limit=limit)
    if breaching:
        ids = [row[0] for row in breaching]
        SlaTarget.objects.filter(pk__in=ids).update(breached_at=now)
        result.events.extend(_clock_events(breaching, event="breached", at=now))
        result.breached = ids
    warning = _claim(running_targets().filter(warned_at__isnull=True, warn_at__lte=now), limit=limit)
    if warning:
        ids = [row[0] for row in warning]
        SlaTarget.objects.filter(pk__in=ids).update(warned_at=now)
        result.events.extend(_clock_events(warning, event="warning", at=now))
        result.warned = ids
    if result.breached or result.warned:
        enqueue_on_commit("sla", "apps.sla.jobs.notify_job", result.warned, result.breached)
    return result


def _clock_events(rows, *, event: str, at: datetime) -> list[ClockEvent]:
    return [ClockEvent(ticket_id=ticket_id, target=kind, event=event, at=at, due_at=due_at)
            for _pk, ticket_id, kind, due_at in rows]
