"""Reads of routing's state for screens: who serves which language queue, and who is online now."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apps.routing.models import AgentState
from apps.routing.services import PRESENCE_TIMEOUT_SECONDS


@dataclass(frozen=True)
class QueueAgents:
    """Per (language, channel): the active agents who serve it, and those of them online now."""

    serving: Counter = field(default_factory=Counter)
    online: Counter = field(default_factory=Counter)


def queue_agents(*, now: datetime) -> QueueAgents:
    """Counts by (language, channel), with routing's own rule for "online" (a fresh heartbeat).

    One query; an agent serving two languages counts in both queues, as routing offers them both.
    """
    from django.contrib.auth import get_user_model

    fresh_since = now - timedelta(seconds=PRESENCE_TIMEOUT_SECONDS)
    result = QueueAgents()
    users = (get_user_model().objects.filter(is_active=True, agent_profile__isnull=False)
             .select_related("agent_profile", "agent_state"))
    for user in users:
        state = getattr(user, "agent_state", None)
        online = (state is not None and state.presence == AgentState.Presence.ONLINE
                  and state.last_seen_at is not None and state.last_seen_at >= fresh_since)
        for language in user.agent_profile.languages:
            for channel in user.agent_profile.channels:
                result.serving[(language, channel)] += 1
                if online:
                    result.online[(language, channel)] += 1
    return result
