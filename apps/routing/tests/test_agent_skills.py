"""The manager changes an agent's skills: routing and the agent's scope follow at once."""

import pytest
from django.utils import translation

from apps.accounts.services import SkillsError
from apps.routing import services
from apps.routing.models import AgentState
from apps.routing.selectors import agent_skills
from apps.routing.signals import presence_changed
from apps.tickets import access

pytestmark = pytest.mark.django_db


def set_skills(user, **changes):
    values = {"languages": ["sv"], "channels": ["email"], "phone_number": "", "max_chats": 3, "max_calls": 1,
              "trained_extensions": [], **changes}
    return services.set_agent_skills(user=user, **values)


def test_new_languages_widen_the_agents_scope_and_queues_at_once(agent, queues):
    assert not access.scope_of(agent).languages & {"de"}
    set_skills(agent, languages=["sv", "de"], channels=["email", "chat"], max_chats=5)
    scope = access.scope_of(agent)
    assert scope.languages == {"sv", "de"} and scope.channels == {"email", "chat"}
    row = agent_skills(user_id=agent.pk)[0]
    assert sorted(q.name for q in row.queues) == ["de async", "de live", "sv async", "sv live"]
    assert AgentState.objects.get(user=agent).max_chats == 5 and not row.phone_capable


def test_whoever_remembers_who_takes_calls_is_told(agent, queues):
    heard = []

    def listener(*, user_id, **_signal):
        heard.append(user_id)

    presence_changed.connect(listener)
    try:
        set_skills(agent, channels=["voice"])
    finally:
        presence_changed.disconnect(listener)
    assert heard == [agent.pk]
    assert agent_skills(user_id=agent.pk)[0].phone_capable


def test_the_phone_needs_english_or_swedish(agent):
    with translation.override("en"), pytest.raises(SkillsError, match="English and Swedish only"):
        set_skills(agent, languages=["ja"], channels=["voice"])
    assert access.scope_of(agent).languages == {"sv"}


def test_a_malformed_phone_number_is_refused(agent):
    with pytest.raises(SkillsError):
        set_skills(agent, phone_number="call me")


def test_capacity_has_bounds(agent):
    with pytest.raises(services.RoutingError):
        set_skills(agent, max_calls=9)
    assert access.scope_of(agent).channels == {"chat", "voice", "email"}
