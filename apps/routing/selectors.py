"""Reads of routing state for screens: agents' live load, presence and occupancy; who serves each queue."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from apps.accounts.services import PHONE_LANGUAGES
from apps.policy.languages import Channel
from apps.routing.models import AgentState, PresenceHour, Queue, queue_kinds_for
from apps.tickets import channels

OPEN_STATUSES = ("new", "open")
PRESENCE_TIMEOUT_SECONDS = 60       # a console silent this long is offline (expire_presence)


def live_load(user_ids: list[int]) -> dict[int, dict[str, int]]:
    """``{agent: {channel: open tickets}}`` on the channels whose load is capped, in one query."""
    from apps.tickets.models import Ticket

    capped = list(channels.capacity_fields())
    if not user_ids or not capped:
        return {}
    # A call that became a voicemail sits in the async queue: it no longer holds the agent's line.
    live = Q(queue__isnull=True) | Q(queue__kind=Queue.Kind.LIVE)
    rows = (Ticket.objects.filter(live, assignee_id__in=user_ids, status__in=OPEN_STATUSES, channel__in=capped)
            .values("assignee_id").annotate(**{channel: Count("pk", filter=Q(channel=channel)) for channel in capped}))
    return {row["assignee_id"]: row for row in rows}


@dataclass(frozen=True)
class Occupancy:
    """One agent now: presence as routing sees it, live work held against the capacity of their live channels."""

    username: str
    name: str
    languages: list[str]
    channels: list[str]
    presence: str
    last_seen_at: datetime | None
    load: int
    capacity: int

    @property
    def occupancy(self) -> float | None:
        return self.load / self.capacity if self.capacity else None


def effective_presence(state: AgentState | None, *, now: datetime) -> str:
    """Online or away only with a fresh heartbeat: a closed console counts as offline before the sweep says so."""
    if state is None or state.last_seen_at is None:
        return AgentState.Presence.OFFLINE
    if state.last_seen_at < now - timedelta(seconds=PRESENCE_TIMEOUT_SECONDS):
        return AgentState.Presence.OFFLINE
    return state.presence


def agent_occupancy(*, now: datetime) -> list[Occupancy]:
    """Every active agent: presence, and open live assignments ÷ the registry's capacities of their channels."""
    users = list(get_user_model().objects.filter(is_active=True, agent_profile__isnull=False)
                 .select_related("agent_profile", "agent_state").order_by("username"))
    load = live_load([user.pk for user in users])
    capacity_fields = channels.capacity_fields()
    rows = []
    for user in users:
        profile, state = user.agent_profile, getattr(user, "agent_state", None)
        held = load.get(user.pk, {})
        capped = [channel for channel in profile.channels if channel in capacity_fields]
        capacity = sum(getattr(state, capacity_fields[channel]) if state else
                       AgentState._meta.get_field(capacity_fields[channel]).default for channel in capped)
        rows.append(Occupancy(
            username=user.get_username(), name=user.get_full_name(), languages=list(profile.languages),
            channels=list(profile.channels), presence=effective_presence(state, now=now),
            last_seen_at=state.last_seen_at if state else None,
            load=sum(held.get(channel, 0) for channel in capacity_fields), capacity=capacity))
    return rows


@dataclass(frozen=True)
class QueueAgents:
    """Per (language, channel): the active agents who serve it, and those of them online now."""

    serving: Counter = field(default_factory=Counter)
    online: Counter = field(default_factory=Counter)
    members: dict = field(default_factory=dict)         # (language, channel) -> the serving agents' ids


def queue_agents(*, now: datetime) -> QueueAgents:
    """Counts by (language, channel), with routing's own rule for "online" (a fresh heartbeat).

    One query; an agent serving two languages counts in both queues, as routing offers them both.
    """
    result = QueueAgents()
    users = (get_user_model().objects.filter(is_active=True, agent_profile__isnull=False)
             .select_related("agent_profile", "agent_state"))
    for user in users:
        online = effective_presence(getattr(user, "agent_state", None), now=now) == AgentState.Presence.ONLINE
        for language in user.agent_profile.languages:
            for channel in user.agent_profile.channels:
                result.serving[(language, channel)] += 1
                result.members.setdefault((language, channel), set()).add(user.pk)
                if online:
                    result.online[(language, channel)] += 1
    return result


def presence_minutes(*, start: datetime, end: datetime) -> list[tuple[int, datetime, int]]:
    """``(agent id, UTC hour, minutes online)`` of the hours in [start, end) (``PresenceHour``, sampled each minute)."""
    return list(PresenceHour.objects.filter(hour__gte=start, hour__lt=end).values_list("user_id", "hour", "minutes"))



@dataclass
class AgentSkills:
    """One agent's skills as the manager's settings page shows them."""

    user: object
    languages: list[str]
    channels: list[str]
    phone_number: str
    max_chats: int
    max_calls: int
    trained_extensions: list = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)

    @property
    def phone_capable(self) -> bool:
        return Channel.VOICE in self.channels and bool(PHONE_LANGUAGES & set(self.languages))


def agent_skills(*, user_id: int | None = None) -> list[AgentSkills]:
    """Every active agent (the manager too) with languages, channels, capacity, specialist extensions and
    the queues those put them in; ``user_id``: that agent only."""
    users = (get_user_model().objects.filter(is_active=True, agent_profile__isnull=False)
             .select_related("agent_profile", "agent_state").order_by("username"))
    if user_id is not None:
        users = users.filter(pk=user_id)
    states = {state.user_id: state for state in
              AgentState.objects.filter(user__in=users).prefetch_related("trained_extensions")}
    queues = list(Queue.objects.all())
    rows = []
    for user in users:
        profile, state = user.agent_profile, states.get(user.pk)
        kinds = {kind for channel in profile.channels if channel in channels.REGISTRY
                 for kind in queue_kinds_for(channel)}
        rows.append(AgentSkills(
            user=user, languages=list(profile.languages), channels=list(profile.channels),
            phone_number=profile.phone_number,
            max_chats=state.max_chats if state else AgentState._meta.get_field("max_chats").default,
            max_calls=state.max_calls if state else AgentState._meta.get_field("max_calls").default,
            trained_extensions=list(state.trained_extensions.all()) if state else [],
            queues=[queue for queue in queues if queue.language in profile.languages and queue.kind in kinds]))
    return rows
