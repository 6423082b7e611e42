"""The one door to a ticket: every channel, view, socket, API and job changes tickets here.

An action writes through the ``tickets`` primitives, asks ``sla`` and ``routing`` (which
decide and keep their own rows) and records what they report. Events reach the console,
and later Jira forwarding and reports, after commit (``apps.tickets.publish``).
"""

import contextlib
import logging
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import datetime

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.desk import notices
from apps.desk.signals import forward_requested, merging, misassigned, owner_message, ticket_taken
from apps.routing import services as routing
from apps.sla import services as sla
from apps.tickets import access, channels, vocabulary
from apps.tickets import services as tickets
from apps.tickets.models import Message, Ticket, TicketEvent
from apps.tickets.services import Actor, NewMessage, NewTicket, Opened

Status = Ticket.Status
log = logging.getLogger(__name__)


def open_ticket(*, channel: str, contact, subject: str, body: str, external_ref: str = "",
                language: str | None = None, region=None, body_html: str = "",
                external_id: str = "", received_at: datetime | None = None,
                waiting_since: datetime | None = None, extension=None,
                actor: Actor | None = None, unparsed: bool = False) -> Ticket:
    """Open a ticket from any channel; a repeated ``(channel, external_ref)`` returns the first.

    The region comes from the entry point when the channel knows it (passed in),
    else from the contact, else from the language's default region. ``waiting_since``
    starts a live channel's response clock when the user begins to wait for a person.
    """
    request = NewTicket(channel=channel, contact=contact, subject=subject, body=body, external_ref=external_ref,
                        language=language, region=region, body_html=body_html, external_id=external_id,
                        received_at=received_at, waiting_since=waiting_since, extension=extension,
                        actor=actor, unparsed=unparsed)
    try:
        # A savepoint, so a concurrent insert of the same external_ref can be recovered.
        with transaction.atomic():
            return open_tickets([request])[0].ticket
    except IntegrityError:
        existing = Ticket.objects.filter(channel=channel, external_ref=external_ref).first() if external_ref else None
        if existing is None:
            raise
        return existing


@transaction.atomic
def open_tickets(requests: list[NewTicket]) -> list[Opened]:
    """Open many tickets in a few statements whatever their number: one result per request, in order.

    Each new ticket enters its language's queue, gets SLA clocks (or a ``no_clock``
    event when the policy has a gap: a ticket is never lost to it) and is routed.
    A mailbox import uses it for a batch of mail.
    """
    for request in requests:
        tickets.check_channel(request.channel)
        language = tickets.check_language(request.language or request.contact.language)
        request.queue = routing.queue_for(language=language, channel=request.channel)
    opened = tickets.open_tickets(requests)
    fresh = [(request, result.ticket) for request, result in zip(requests, opened) if result.created]
    if fresh:
        _targets, failures = sla.start_clocks_many([(ticket, request.waiting_since) for request, ticket in fresh])
        tickets.log_events([tickets.new_event(ticket=ticket, kind=TicketEvent.Kind.SLA,
                                              data={"event": "no_clock", "error": str(error)})
                            for ticket, error in failures])
        _route([ticket for _request, ticket in fresh])
    return opened


def add_message(*, ticket: Ticket, direction: str, body: str, body_html: str = "",
                author_user=None, author_contact=None, external_id: str = "",
                automatic: bool = False, channel: str | None = None,
                created_at: datetime | None = None, history: bool = True,
                shared_with_owner: bool = False) -> Message:
    """Add a message; a repeated ``external_id`` on the same channel returns the first one.

    A person's outbound reply meets the ticket's first response and acknowledgement;
    an automatic one (a receipt) never does. ``history=False``: no "message added" entry
    in the ticket's history (a live chat's lines, which are its transcript).
    """
    return add_messages([NewMessage(
        ticket=ticket, direction=direction, body=body, body_html=body_html, author_user=author_user,
        author_contact=author_contact, external_id=external_id, automatic=automatic, channel=channel,
        created_at=created_at, history=history, shared_with_owner=shared_with_owner)])[0]


@transaction.atomic
def add_messages(items: list[NewMessage]) -> list[Message]:
    """Add many messages: one message per item, in order; a known ``external_id`` gives the stored one.

    On a ticket that is with its extension's owner, the user's words (and notes an agent
    shares with the owner) go on to the owner; a user writing again after the owner
    resolved it puts it back with the owner, not in the vendor's queue.
    """
    for item in items:
        if item.direction == Message.Direction.INBOUND and with_owner(item.ticket):
            item.reopen_to = Status.FORWARDED
    stored = tickets.add_messages(items)
    for item, result in zip(items, stored):
        if not result.created:
            continue
        # The primitive set the first response only if this message was it.
        if tickets.responded(item) and item.ticket.first_response_at == result.message.created_at:
            _record_clock_events(sla.record_response(ticket=item.ticket, at=result.message.created_at))
        for_owner = item.direction == Message.Direction.INBOUND or result.message.shared_with_owner
        if for_owner and with_owner(item.ticket):
            owner_message.send(sender=Ticket, ticket=item.ticket, message=result.message)
    return [result.message for result in stored]


def with_owner(ticket: Ticket) -> bool:
    """Is the ticket the extension owner's to resolve (forwarded), not the vendor's?"""
    return ticket.scope == Ticket.Scope.EXTENSION and not routing.needs_trained_specialist(ticket)


def change_status(*, ticket: Ticket, to: str, actor: Actor | None = None, reason: str = "") -> Ticket:
    """Move a ticket along an allowed transition, or raise ``tickets.InvalidTransition``."""
    return tickets.change_status(ticket=ticket, to=to, actor=actor, reason=reason)


@transaction.atomic
def assign_ticket(*, ticket: Ticket, assignee, actor: Actor | None = None) -> Ticket:
    """Set (or clear) the assignee by a manager's decision; pending offers of the ticket close."""
    tickets.assign_ticket(ticket=ticket, assignee=assignee, actor=actor)
    routing.withdraw_offers(ticket=ticket)
    return ticket


@transaction.atomic
def triage_ticket(*, ticket: Ticket, scope: str, category: str = "", extension=None,
                  language: str | None = None, actor: Actor) -> Ticket:
    """Record an agent's triage: it acknowledges the ticket, and routes it by the policy's division of labour.

    Core tickets stay with the vendor's queues. Extension tickets go to the extension's
    owner (forwarded: the user is told so, and the forward is queued in this transaction),
    except a functionality question about a Trained Specialist extension, which goes to
    an agent trained on it.
    """
    queue = routing.queue_for(language=tickets.check_language(language), channel=ticket.channel) if language else None
    acknowledged = tickets.triage_ticket(ticket=ticket, scope=scope, category=category, extension=extension,
                                         language=language, queue=queue, actor=actor)
    if acknowledged:
        _record_clock_events(sla.record_acknowledgement(ticket=ticket, at=ticket.acknowledged_at))
    if routing.needs_reroute(ticket):
        tickets.hand_over(ticket=ticket, to_agent=None, to_queue=None, actor=Actor(label="routing"))
        _route([ticket])
    elif ticket.scope == Ticket.Scope.EXTENSION and not routing.needs_trained_specialist(ticket):
        _forward(ticket=ticket, actor=actor)
    return ticket


def _forward(*, ticket: Ticket, actor: Actor) -> None:
    if ticket.status != Status.FORWARDED:
        if Status.FORWARDED not in tickets.ALLOWED_TRANSITIONS[ticket.status]:
            return      # a resolved or closed ticket is not sent on; reopening it comes first
        tickets.change_status(ticket=ticket, to=Status.FORWARDED, actor=actor, reason="extension")
        _tell_user(ticket=ticket, body=notices.forwarded_to_owner(ticket))
        # A person sent it where it is answered and the user was told: the vendor's response is given (the
        # owner's own answer is outside the vendor's targets, so the clock would otherwise only breach).
        _record_clock_events(sla.record_response(ticket=ticket, at=timezone.now()))
    forward_requested.send(sender=Ticket, ticket=ticket)


def _tell_user(*, ticket: Ticket, body: str) -> None:
    """An automatic message to the user, by the ticket's channel (or its fallback); it meets no SLA clock."""
    _deliver(ticket=ticket, message=add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, body=body,
                                                automatic=True))


def _deliver(*, ticket: Ticket, message: Message) -> None:
    for deliver in channels.reply_deliveries(ticket):
        if deliver(ticket=ticket, message=message) is not None:
            break


def update_contact(*, contact, changes: dict, actor: Actor):
    """Change a contact's details; each of their tickets records who changed what."""
    return tickets.update_contact(contact=contact, changes=changes, actor=actor)


@transaction.atomic
def take_ticket(*, ticket: Ticket, user, by_routing: bool = False) -> Ticket:
    """Assign an unassigned ticket to ``user``; of two racing agents exactly one wins (``AlreadyTaken``)."""
    if not by_routing:
        routing.check_may_take(ticket=ticket, user=user)
    if not _take([(ticket, user)], actor=Actor(label="routing") if by_routing else Actor(user=user)):
        raise routing.AlreadyTaken
    return ticket


def _take(claims: list[tuple[Ticket, object]], *, actor: Actor, live: bool = True) -> list[tuple[Ticket, object]]:
    """Give each ``(ticket, user)`` whose ticket is still unassigned; returns those given.

    A live ticket taken is open from then on; ``live=False``: the caller knows none is (routing
    assigns only async work, live work is offered).
    """
    taken = tickets.claim_tickets(claims, actor=actor)
    if taken:
        routing.note_taken(taken)
    for ticket, user in taken:
        if live and ticket.status == Status.NEW and channels.is_live(ticket):
            tickets.change_status(ticket=ticket, to=Status.OPEN, actor=actor)
        ticket_taken.send(sender=Ticket, ticket=ticket, user=user, live=live)
    return taken


@transaction.atomic
def accept_offer(*, offer_id: int, user) -> Ticket:
    return take_ticket(ticket=routing.open_offer(offer_id=offer_id, user=user).ticket, user=user)


@transaction.atomic
def transfer_ticket(*, ticket: Ticket, user, to_agent=None, to_queue=None) -> Ticket:
    """Hand a ticket to another agent, or back to a queue (unassigned, then routed again)."""
    routing.check_may_transfer(ticket=ticket, user=user, to_agent=to_agent)
    tickets.hand_over(ticket=ticket, to_agent=to_agent, to_queue=to_queue, actor=Actor(user=user))
    routing.withdraw_offers(ticket=ticket)
    if to_agent is None:
        _route([ticket])
    return ticket


@transaction.atomic
def sweep_sla(*, now: datetime | None = None, limit: int = 10_000) -> sla.SweepResult:
    """Mark the SLA warnings and breaches that fell due, each recorded on its ticket."""
    result = sla.sweep(now=now, limit=limit)
    _record_clock_events(result.events)
    return result


@transaction.atomic
def follow_owner(*, ticket: Ticket, to: str, actor: Actor, reason: str = "") -> bool:
    """The owner moved the ticket's issue (Jira): the desk's status follows. Returns whether it moved.

    ``to`` is forwarded (the owner works on it, or reopened it) or resolved. A closed
    ticket stays closed; a ticket returned to triage is no longer the owner's to move.
    """
    ticket.refresh_from_db(fields=["status", "scope", "category", "extension"])
    if ticket.status == to or ticket.status == Status.CLOSED or not with_owner(ticket):
        return False
    if to not in tickets.ALLOWED_TRANSITIONS[ticket.status]:     # e.g. new → … : forwarded first
        tickets.change_status(ticket=ticket, to=Status.FORWARDED, actor=actor, reason=reason)
    if ticket.status != to:
        tickets.change_status(ticket=ticket, to=to, actor=actor, reason=reason)
    return True


def add_owner_note(*, ticket: Ticket, body: str, external_id: str, created_at: datetime | None = None) -> Message:
    """What the owner wrote for the desk (a Jira comment): an internal note; a repeated ``external_id`` is one note."""
    return add_message(ticket=ticket, direction=Message.Direction.NOTE, body=body, external_id=external_id,
                       channel=ticket.channel, created_at=created_at)


@transaction.atomic
def reply_for_owner(*, ticket: Ticket, body: str, owner_name: str, external_id: str) -> Message:
    """The owner answers the user through the desk: mailed in the ticket's thread, signed with the owner's name.

    It is no agent's reply, so it meets no SLA clock; a repeated ``external_id`` sends nothing again.
    """
    existing = Message.objects.filter(channel=ticket.channel, external_id=external_id).first()
    if existing is not None:
        return existing
    message = add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, external_id=external_id,
                          body=notices.signed_by_owner(ticket, body=body, owner_name=owner_name))
    _deliver(ticket=ticket, message=message)
    return message


@transaction.atomic
def return_to_triage(*, ticket: Ticket, actor: Actor, reason: str) -> Ticket:
    """The owner says the ticket is not theirs: back to triage in its language's queue, and routed again.

    Subscribers of ``misassigned`` note it on the Jira link and alert the User Support Manager.
    """
    ticket = Ticket.objects.select_for_update(of=("self",)).select_related("extension__owner").get(pk=ticket.pk)
    extension = ticket.extension
    if ticket.scope != Ticket.Scope.EXTENSION or extension is None:
        raise tickets.TicketError(_("Only a ticket triaged to an extension can be returned."))
    queue = routing.queue_for(language=ticket.language, channel=ticket.channel)
    tickets.return_to_triage(ticket=ticket, queue=queue, actor=actor, reason=reason)
    if ticket.status in (Status.FORWARDED, Status.RESOLVED):
        tickets.change_status(ticket=ticket, to=Status.OPEN, actor=actor, reason=reason)
    routing.withdraw_offers(ticket=ticket)
    misassigned.send(sender=Ticket, ticket=ticket, extension=extension, actor=actor)
    _route([ticket])
    return ticket


@transaction.atomic
def answer_call(*, ticket: Ticket, at: datetime, user=None) -> None:
    """A person picked up a queued call at ``at``: the call's answer target and the acknowledgement are met."""
    tickets.record_first_response(ticket=ticket, at=at, user=user)
    _record_clock_events(sla.record_response(ticket=ticket, at=at))


def live_to_async(*, ticket: Ticket, at: datetime, reason: str) -> Ticket:
    """Live work nobody answered becomes async work: a voicemail, a callback asked for, a caller who hung
    up, a chat visitor who chose to be answered by email.

    The live answer target stops (not applicable before its deadline, breached after), the async
    clock starts, pending offers close and the ticket moves to its language's async queue, where
    routing assigns it like mail. The channel app has already said the ticket is no longer live.
    Inside ``together()`` this waits for the end of the batch, done there for all its tickets at once.
    """
    if (batch := _together.get()) is not None:
        batch.handbacks.append((ticket, at, reason))
    else:
        _route(_hand_back([(ticket, at, reason)]))
    return ticket


@transaction.atomic
def _hand_back(handbacks: list[tuple[Ticket, datetime, str]]) -> list[Ticket]:
    """``live_to_async`` for many tickets in a few statements; returns those now waiting to be routed."""
    first: dict[int, tuple[Ticket, datetime, str]] = {}
    for handback in handbacks:          # a ticket handed back twice in a batch: the first time counts
        first.setdefault(handback[0].pk, handback)
    handbacks = list(first.values())
    clocks = [(ticket, at) for ticket, at, _reason in handbacks]
    _record_clock_events(sla.set_aside_live_answers(clocks))
    tickets.log_events([tickets.new_event(ticket=ticket, kind=TicketEvent.Kind.SLA,
                                          data={"event": "no_clock", "error": str(error)})
                        for ticket, error in sla.start_callback_clocks(clocks)])
    routing.withdraw_offers_of([ticket for ticket, _at, _reason in handbacks])
    moving: dict[str, list] = {}
    for ticket, _at, reason in handbacks:
        queue = routing.async_queue(ticket.language)
        if ticket.assignee_id is None or queue != ticket.queue:
            moving.setdefault(reason, []).append((ticket, queue))
    for reason, moves in moving.items():
        tickets.hand_back(moves, actor=Actor(label=reason))
    return [ticket for moves in moving.values() for ticket, _queue in moves]


@transaction.atomic
def merge_tickets(*, ticket: Ticket, into: Ticket, user) -> Ticket:
    """Merge ``ticket`` into ``into``, another ticket of the same person: ``into`` survives and is returned.

    The survivor keeps both threads and the Jira link (``merging`` subscribers move it, or
    refuse when both tickets have one); the merged ticket is closed, names the survivor and
    drops out of worklists, and its running SLA clocks stop applying (reports keep the targets
    it had met or breached before). Refused (``TicketError``, nothing written): the same
    ticket, different people, a ticket already merged, a closed survivor, a chat or call still
    going on (``channels.in_progress``), or a ``user`` who may not act on both.
    """
    if ticket.pk == into.pk:
        raise tickets.TicketError(_("A ticket cannot be merged into itself."))
    # Both rows locked in one order, so two agents merging the pair both ways cannot deadlock or cross.
    rows = {row.pk: row for row in Ticket.objects.select_for_update().filter(pk__in=[ticket.pk, into.pk])
            .order_by("pk")}
    ticket, into = rows[ticket.pk], rows[into.pk]
    if not (access.can_act_on(user, ticket) and access.can_act_on(user, into)):
        raise tickets.TicketError(_("You may merge only tickets you may act on, both of them."))
    if ticket.contact_id != into.contact_id:
        raise tickets.TicketError(_("Only tickets of the same person can be merged."))
    for row in (ticket, into):
        if row.merged_into_id is not None:
            raise tickets.TicketError(_("%(reference)s is already merged into another ticket.")
                                      % {"reference": row.reference})
    if into.status == Status.CLOSED:
        raise tickets.TicketError(_("%(reference)s is closed: a ticket cannot be merged into it.")
                                  % {"reference": into.reference})
    for row in (ticket, into):
        if channels.in_progress(row):
            raise tickets.TicketError(_("The chat or call of %(reference)s is still going on; merge it once it "
                                        "has ended.") % {"reference": row.reference})
    merging.send(sender=Ticket, ticket=ticket, into=into)
    sla.set_aside(ticket=ticket, at=timezone.now())
    routing.withdraw_offers(ticket=ticket)
    tickets.merge_into(ticket=ticket, into=into, actor=Actor(user=user))
    return into


def record_call(*, ticket: Ticket, data: dict, at: datetime | None = None) -> None:
    """A step of the ticket's phone call (queued, bridged, voicemail, abandoned, completed) for history and reports."""
    record_calls([(ticket, data, at)])


def record_calls(steps: list[tuple[Ticket, dict, datetime | None]]) -> None:
    """``record_call`` for many calls, ``(ticket, data, at)`` each, in one statement (inside ``together()``, in
    one with the rest of the batch's at its end)."""
    events = [tickets.new_event(ticket=ticket, kind=TicketEvent.Kind.CALL, actor=Actor(label="phone"),
                                data=data, at=at) for ticket, data, at in steps]
    if (batch := _together.get()) is not None:
        batch.events.extend(events)
    else:
        tickets.log_events(events)


def record_chat(*, ticket: Ticket, data: vocabulary.Chat, user=None) -> None:
    """What the desk notes of a live chat (ended, rated): a history entry each reader sees in their language."""
    actor = Actor(user=user) if user else Actor(label="system")
    tickets.log_event(ticket=ticket, kind=TicketEvent.Kind.CHAT, actor=actor, data=data)


def record_forwarding(*, ticket: Ticket, data: dict) -> None:
    """What happened to the ticket's forward to its owner (queued, waiting, each attempt, the issue's key)."""
    tickets.log_event(ticket=ticket, kind=TicketEvent.Kind.FORWARDING, actor=Actor(label="jira"), data=data)


class Together:
    """What waits for the end of a batch (``together``): calls' history to write, tickets to route, live
    work to hand back."""

    def __init__(self):
        self.tickets: list[Ticket] = []
        self.handbacks: list[tuple[Ticket, datetime, str]] = []
        self.events: list[TicketEvent] = []

    def mark(self) -> tuple[int, int, int]:
        return len(self.tickets), len(self.handbacks), len(self.events)

    def forget_since(self, mark: tuple[int, int, int]) -> None:
        """A step of the batch was rolled back: what it asked for is not done."""
        del self.tickets[mark[0]:]
        del self.handbacks[mark[1]:]
        del self.events[mark[2]:]


_together: ContextVar[Together | None] = ContextVar("together", default=None)


@contextlib.contextmanager
def together() -> Iterator[Together]:
    """Inside, routing and the hand-back of live work wait; at the end they are done for the whole batch.

    A worker applying a batch of phone calls uses it: the calls' history is written in one
    statement, the callers who left the queue are handed back to the async queues together
    (their clocks, offers and queue in a few statements), and every ticket opened or handed
    back is routed with one read of who is online and one assignment per agent. Call it inside
    the batch's transaction; a step rolled back in a savepoint takes its part back with
    ``forget_since``. If the hand-back of the batch fails, each ticket's is tried alone; if
    routing fails the tickets wait unassigned in their queues, as when nobody is online. Either
    is logged, and the batch keeps what it did. Nested, the outermost one does the work.
    """
    if (batch := _together.get()) is not None:
        yield batch
        return
    batch = Together()
    token = _together.set(batch)
    try:
        yield batch
    finally:
        _together.reset(token)
    tickets.log_events(batch.events)
    waiting = batch.tickets + _hand_back_each_if_need_be(batch.handbacks)
    if waiting:
        try:
            with transaction.atomic():
                _route(list({ticket.pk: ticket for ticket in waiting}.values()))
        except Exception:
            log.exception("could not route %d tickets together: they wait in their queues", len(waiting))


def _hand_back_each_if_need_be(handbacks: list[tuple[Ticket, datetime, str]]) -> list[Ticket]:
    if not handbacks:
        return []
    try:
        return _hand_back(handbacks)
    except Exception:
        log.exception("could not hand back %d tickets together: one by one instead", len(handbacks))
    moved = []
    for handback in handbacks:
        try:
            moved += _hand_back([handback])
        except Exception:
            log.exception("could not hand back ticket %s to its async queue", handback[0].pk)
    return moved


def together_now() -> Together | None:
    """The batch open here, if one is."""
    return _together.get()


def _route(opened: list[Ticket]) -> None:
    if (batch := _together.get()) is not None:
        batch.tickets.extend(opened)
        return
    if chosen := routing.assignments(opened):
        _take(chosen, actor=Actor(label="routing"), live=False)     # one taken meanwhile by another: fine


def _record_clock_events(events: list[sla.ClockEvent]) -> None:
    tickets.log_events([TicketEvent(ticket_id=event.ticket_id, kind=TicketEvent.Kind.SLA, actor_label="sla",
                                    created_at=event.at,
                                    data=vocabulary.stored_data(TicketEvent.Kind.SLA, event.data()))
                        for event in events])
