"""Routing: which queue a ticket enters, who is offered or assigned it, agents' presence.

Live work (chat, calls) is offered to the eligible online agent who has been idle
longest; an offer not accepted in ``OFFER_SECONDS`` moves on. Async work (email,
feedback, voicemail) is assigned round-robin among eligible agents on shift.
Taking a ticket is a conditional UPDATE, so of two agents exactly one wins.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts import services as accounts
from apps.accounts.names import display_name
from apps.routing.models import AgentState, Offer, PresenceHour, Queue, queue_kind_for, queue_kinds_for
from apps.routing.selectors import OPEN_STATUSES, PRESENCE_TIMEOUT_SECONDS, live_load
from apps.routing.signals import offer_made, presence_changed
from apps.tickets import channels
from apps.tickets.access import can_act_on, is_manager
from supportdesk.readonce import once

OFFER_SECONDS = 20


class RoutingError(Exception):
    """A routing action refused; the message is safe to show to the agent."""


class AlreadyTaken(RoutingError):
    def __init__(self, message: str = ""):
        super().__init__(message or _("Another agent has already taken this ticket."))


class NotAllowed(RoutingError):
    pass


def queue_for(*, language: str, channel: str) -> Queue | None:
    """The language queue of the right kind; None until an administrator creates it."""
    kind = queue_kind_for(channel)
    return once(("queue", language, kind), lambda: Queue.objects.filter(language=language, kind=kind).first())


def async_queue(language: str) -> Queue | None:
    """The language's async queue: where live work nobody answered goes (a voicemail, a callback)."""
    return once(("queue", language, Queue.Kind.ASYNC),
                lambda: Queue.objects.filter(language=language, kind=Queue.Kind.ASYNC).first())


def agent_state(user) -> AgentState:
    state, _created = AgentState.objects.get_or_create(user=user)
    return state


def visible_queues(user) -> list[Queue]:
    """The queues an agent works: their languages, and live/async by the channels they take."""
    if is_manager(user):
        return list(Queue.objects.all())
    profile = getattr(user, "agent_profile", None)
    if profile is None:
        return []
    kinds = {kind for channel in profile.channels for kind in queue_kinds_for(channel)}
    return list(Queue.objects.filter(language__in=profile.languages, kind__in=kinds))


def _online_states(*, language: str, channel: str, now: datetime) -> list[AgentState]:
    """Agents online with a fresh heartbeat who serve this language on this channel."""
    states = (AgentState.objects.select_related("user__agent_profile")
              .filter(user__is_active=True, presence=AgentState.Presence.ONLINE,
                      last_seen_at__gte=now - timedelta(seconds=PRESENCE_TIMEOUT_SECONDS)))
    return [state for state in states
            if (profile := getattr(state.user, "agent_profile", None))
            and language in profile.languages and channel in profile.channels]


@dataclass(frozen=True)
class Candidate:
    user: object
    state: AgentState


def needs_trained_specialist(ticket) -> bool:
    return bool(ticket.extension_id and ticket.extension.trained_specialist
                and ticket.category == "functionality_question")


def eligible_agents(ticket, *, now: datetime | None = None, states: list[AgentState] | None = None,
                    load: dict | None = None) -> list[Candidate]:
    """Online agents with the ticket's language and channel, spare capacity and, if needed, training.

    Ordered by who has been idle longest (never assigned first). ``states`` is the caller's fresh
    read of ``_online_states`` for this language and channel, ``load`` its ``live_load`` of them.
    """
    now = now or timezone.now()
    if states is None:
        states = _online_states(language=ticket.language, channel=ticket.channel, now=now)
    if needs_trained_specialist(ticket):
        trained = set(AgentState.objects.filter(trained_extensions=ticket.extension_id).values_list("pk", flat=True))
        states = [state for state in states if state.pk in trained]
    candidates = [Candidate(state.user, state) for state in states]
    if load is None:
        load = live_load([c.user.pk for c in candidates])
    spare = [c for c in candidates if _has_capacity(c.state, load.get(c.user.pk), ticket.channel)]
    epoch = datetime.min.replace(tzinfo=now.tzinfo)
    return sorted(spare, key=lambda c: (c.state.last_assigned_at or epoch, c.user.pk))


class _Lines:
    """Who is online for each (language, channel) of a batch, and their live load: read once per batch."""

    def __init__(self, now: datetime):
        self.now, self._read = now, {}

    def eligible(self, ticket) -> list[Candidate]:
        key = (ticket.language, ticket.channel)
        if key not in self._read:
            states = _online_states(language=ticket.language, channel=ticket.channel, now=self.now)
            self._read[key] = (states, live_load([state.user_id for state in states]) if states else {})
        states, load = self._read[key]
        return eligible_agents(ticket, now=self.now, states=states, load=load) if states else []


def _has_capacity(state: AgentState, load: dict | None, channel: str) -> bool:
    cap = channels.capacity_fields().get(channel)
    return cap is None or (load or {}).get(channel, 0) < getattr(state, cap)


def live_agents_online(*, language: str, channel: str, now: datetime | None = None) -> int:
    """How many agents could take a live item now; 0 means the channel should offer an alternative."""
    return len(_online_states(language=language, channel=channel, now=now or timezone.now()))


def assignments(tickets: list) -> list[tuple[object, object]]:
    """Route new tickets: offer the live ones; return ``(ticket, agent)`` for each async one to assign.

    Decided for the whole batch at once, round-robin kept here: an agent given a ticket goes
    to the back of the line for the next one, as the assignment that follows records. Who is
    online is read once per language and channel: a mailbox import opens hundreds of tickets,
    mostly while nobody is, and a phone worker's batch hands back many calls at once.
    """
    now = timezone.now()
    waiting = [ticket for ticket in tickets if not ticket.assignee_id]
    live_now = channels.live_ones(waiting)
    live = [ticket for ticket in waiting if ticket.pk in live_now]
    offer_many(live, now=now)
    offered = {ticket.pk for ticket in live}
    lines, chosen, turn = _Lines(now), [], 0
    for ticket in waiting:
        if ticket.pk in offered:
            continue
        candidates = lines.eligible(ticket)
        if candidates:
            turn += 1
            candidates[0].state.last_assigned_at = now + timedelta(microseconds=turn)
            chosen.append((ticket, candidates[0].user))
    return chosen


def offer_next(*, ticket, now: datetime | None = None) -> Offer | None:
    """Offer a live ticket to the next agent, skipping those who already let it pass."""
    offers = offer_many([ticket], now=now)
    return offers[0] if offers else None


def offer_many(tickets: list, *, now: datetime | None = None) -> list[Offer]:
    """Offer each live ticket that has no pending offer to its next agent, in a few statements for all.

    The next agent is the longest idle eligible one who has not let this ticket pass yet; once
    everybody had a turn, another round starts, but not with whoever let it pass last.
    """
    return _offer_tickets([ticket.pk for ticket in tickets], now=now or timezone.now()) if tickets else []


@transaction.atomic
def _offer_tickets(ticket_ids: list[int], *, now: datetime) -> list[Offer]:
    from apps.tickets.models import Ticket

    # Locked, so two expiries never create two pending offers for one ticket.
    locked = list(Ticket.objects.select_for_update(of=("self",)).select_related("extension")
                  .filter(pk__in=ticket_ids, assignee__isnull=True, status__in=OPEN_STATUSES).order_by("pk"))
    history: dict[int, list[tuple[int, str]]] = {ticket.pk: [] for ticket in locked}
    for ticket_id, agent_id, status in (Offer.objects.filter(ticket__in=locked).order_by("offered_at", "pk")
                                        .values_list("ticket_id", "agent_id", "status")):
        history[ticket_id].append((agent_id, status))
    lines, offers = _Lines(now), []
    for ticket in locked:
        if any(status == Offer.Status.PENDING for _agent, status in history[ticket.pk]):
            continue
        if agent := _next_in_line(lines.eligible(ticket), [agent for agent, _status in history[ticket.pk]]):
            offers.append(Offer(ticket=ticket, agent=agent, offered_at=now,
                                expires_at=now + timedelta(seconds=OFFER_SECONDS)))
    Offer.objects.bulk_create(offers)
    for offer in offers:
        _publish_offer(offer)
    return offers


def _next_in_line(candidates: list[Candidate], offered_to: list[int]):
    fresh = [c for c in candidates if c.user.pk not in offered_to]
    if not fresh and offered_to:
        # Everybody had a turn: start another round, but not with whoever just let it pass.
        fresh = [c for c in candidates if c.user.pk != offered_to[-1]] or candidates
    return fresh[0].user if fresh else None


def offer_frame(offer: Offer) -> dict:
    return {"type": "offer", "offer": offer.pk, "ticket": offer.ticket.reference,
            "channel": offer.ticket.channel, "language": offer.ticket.language,
            "subject": offer.ticket.subject, "expires_at": offer.expires_at.isoformat()}


def _publish_offer(offer: Offer) -> None:
    frame = offer_frame(offer)
    transaction.on_commit(lambda: offer_made.send_robust(sender=Offer, agent_id=offer.agent_id, frame=frame))


def pending_offer_frames(*, user, now: datetime | None = None) -> list[dict]:
    """The agent's offers still open: a console that connects or resyncs shows them again.

    An offer is pushed once; a reloaded page, or a push lost while Redis was away, would
    otherwise leave the agent unaware of it until it expired and moved on.
    """
    now = now or timezone.now()
    offers = (Offer.objects.filter(agent=user, status=Offer.Status.PENDING, expires_at__gt=now)
              .select_related("ticket").order_by("offered_at"))
    return [offer_frame(offer) for offer in offers]


def check_may_take(*, ticket, user) -> None:
    if not can_act_on(user, ticket):
        raise NotAllowed(_("This ticket is outside your queues."))


def check_may_transfer(*, ticket, user, to_agent=None) -> None:
    check_may_take(ticket=ticket, user=user)
    if to_agent is not None and not can_act_on(to_agent, ticket):
        raise NotAllowed(_("%(agent)s does not take this language or channel.") % {"agent": display_name(to_agent)})


def note_taken(taken: list[tuple[object, object]]) -> None:
    """Each ``(ticket, user)``: the user now has the ticket; round-robin moves on, the ticket's other offers close."""
    now = timezone.now()
    users = {user.pk: user for _ticket, user in taken}
    for user in users.values():
        AgentState.objects.update_or_create(user=user, defaults={"last_assigned_at": now})
        mine = [ticket.pk for ticket, owner in taken if owner.pk == user.pk]
        Offer.objects.filter(ticket__in=mine, status=Offer.Status.PENDING).exclude(agent=user).update(
            status=Offer.Status.WITHDRAWN)
        Offer.objects.filter(ticket__in=mine, status=Offer.Status.PENDING, agent=user).update(
            status=Offer.Status.ACCEPTED)


def withdraw_offers(*, ticket) -> None:
    withdraw_offers_of([ticket])


def withdraw_offers_of(tickets: list) -> None:
    Offer.objects.filter(ticket__in=tickets, status=Offer.Status.PENDING).update(status=Offer.Status.WITHDRAWN)


def open_offer(*, offer_id: int, user) -> Offer:
    """The agent's pending offer, to accept; refuses another's offer or one that moved on."""
    offer = Offer.objects.select_related("ticket").filter(pk=offer_id, agent=user).first()
    if offer is None:
        raise NotAllowed(_("This offer is not yours."))
    if offer.status != Offer.Status.PENDING:
        raise AlreadyTaken(_("This offer is no longer open."))
    return offer


@transaction.atomic
def decline_offer(*, offer_id: int, user) -> Offer | None:
    declined = Offer.objects.filter(pk=offer_id, agent=user, status=Offer.Status.PENDING).update(
        status=Offer.Status.DECLINED)
    if not declined:
        return None
    return offer_next(ticket=Offer.objects.get(pk=offer_id).ticket)


def expire_offers(*, now: datetime | None = None) -> int:
    """Move unanswered offers on to the next agent: all that are due together, in a few statements."""
    from apps.tickets.models import Ticket

    now = now or timezone.now()
    due = list(Offer.objects.filter(status=Offer.Status.PENDING, expires_at__lte=now).values_list("pk", "ticket_id"))
    if not due:
        return 0
    ticket_ids = sorted({ticket_id for _pk, ticket_id in due})
    with transaction.atomic():
        # The tickets first, as an agent taking one locks it before its offers: the two never wait
        # on each other in a circle. An offer accepted meanwhile is no longer pending here.
        list(Ticket.objects.select_for_update().filter(pk__in=ticket_ids).order_by("pk").values_list("pk"))
        expired = Offer.objects.filter(pk__in=[pk for pk, _ticket in due], status=Offer.Status.PENDING).update(
            status=Offer.Status.EXPIRED)
        _offer_tickets(ticket_ids, now=now)
    return expired


def heartbeat(*, user, now: datetime | None = None) -> AgentState:
    """The console is open: keep the agent online (an away agent stays away).

    A manager who opens the console to look stays offline until they choose Online: signing
    in must not put them in line for offers and mail.
    """
    now = now or timezone.now()
    state = agent_state(user)
    keep = state.presence == AgentState.Presence.AWAY or (
        state.presence == AgentState.Presence.OFFLINE and is_manager(user))
    presence = state.presence if keep else AgentState.Presence.ONLINE
    AgentState.objects.filter(pk=state.pk).update(last_seen_at=now, presence=presence)
    changed = presence != state.presence
    state.last_seen_at, state.presence = now, presence
    if changed:
        presence_changed.send(sender=AgentState, user_id=user.pk)
    return state


def set_presence(*, user, presence: str, now: datetime | None = None) -> AgentState:
    if presence not in AgentState.Presence.values:
        raise RoutingError(_("Unknown presence %(presence)s.") % {"presence": presence})
    now = now or timezone.now()
    state = agent_state(user)
    AgentState.objects.filter(pk=state.pk).update(presence=presence, last_seen_at=now)
    state.presence, state.last_seen_at = presence, now
    presence_changed.send(sender=AgentState, user_id=user.pk)
    if presence != AgentState.Presence.ONLINE:
        _release_offers(user=user, now=now)
    return state


def expire_presence(*, now: datetime | None = None) -> int:
    """Agents whose console missed its heartbeat go offline; their offers move on."""
    now = now or timezone.now()
    stale = list(AgentState.objects.exclude(presence=AgentState.Presence.OFFLINE)
                 .filter(Q(last_seen_at__lt=now - timedelta(seconds=PRESENCE_TIMEOUT_SECONDS))
                         | Q(last_seen_at__isnull=True)).select_related("user"))
    for state in stale:
        AgentState.objects.filter(pk=state.pk).update(presence=AgentState.Presence.OFFLINE)
        presence_changed.send(sender=AgentState, user_id=state.user_id)
        _release_offers(user=state.user, now=now)
    return len(stale)


def record_presence(*, now: datetime | None = None) -> int:
    """A minute of presence for every agent online now (a fresh heartbeat), in the UTC hour it falls in.

    The schedule runs it each minute; an hour never counts more than 60. Returns how many were online.
    """
    now = now or timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    online = list(AgentState.objects.filter(
        presence=AgentState.Presence.ONLINE, user__is_active=True,
        last_seen_at__gte=now - timedelta(seconds=PRESENCE_TIMEOUT_SECONDS)).values_list("user_id", flat=True))
    if online:
        PresenceHour.objects.bulk_create([PresenceHour(user_id=user_id, hour=hour) for user_id in online],
                                         ignore_conflicts=True)
        PresenceHour.objects.filter(hour=hour, user_id__in=online, minutes__lt=60).update(minutes=F("minutes") + 1)
    return len(online)


def _release_offers(*, user, now: datetime) -> None:
    for offer in Offer.objects.filter(agent=user, status=Offer.Status.PENDING).select_related("ticket"):
        with transaction.atomic():
            if Offer.objects.filter(pk=offer.pk, status=Offer.Status.PENDING).update(status=Offer.Status.EXPIRED):
                offer_next(ticket=offer.ticket, now=now)


def needs_reroute(ticket) -> bool:
    """After triage: a functionality question about a Trained Specialist extension belongs to a trained agent."""
    if not needs_trained_specialist(ticket):
        return False
    return not (ticket.assignee_id and AgentState.objects.filter(
        user_id=ticket.assignee_id, trained_extensions=ticket.extension_id).exists())


@transaction.atomic
def set_agent_skills(*, user, languages: list[str], channels: list[str], phone_number: str = "",
                     max_chats: int, max_calls: int, trained_extensions) -> AgentState:
    """The manager's edit of what an agent takes: languages and channels (their queues follow), the
    number calls ring, how many chats and calls at once, and the specialist extensions.

    Takes effect at once: the next routing decision reads them, and whoever remembers who can take
    calls forgets it (as after a presence change).
    """
    if not 1 <= max_chats <= 20 or not 1 <= max_calls <= 5:
        raise RoutingError(_("An agent takes 1 to 20 chats and 1 to 5 calls at once."))
    profile = accounts.set_skills(profile=user.agent_profile, languages=languages, channels=channels,
                                  phone_number=phone_number)
    state = agent_state(user)
    state.max_chats, state.max_calls = max_chats, max_calls
    state.save(update_fields=["max_chats", "max_calls"])
    state.trained_extensions.set(trained_extensions)
    presence_changed.send(sender=AgentState, user_id=user.pk)
    user.agent_profile = profile
    return state
