"""The widget's availability answer in demo mode, and what it tells the widget to show."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.utils import timezone

from apps.policy.services import set_demo_mode
from apps.routing.models import AgentState

SATURDAY = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)


@pytest.fixture
def saturday(online_agent):
    with time_machine.travel(SATURDAY, tick=False):
        AgentState.objects.filter(user=online_agent).update(last_seen_at=timezone.now())
        yield


def ask(client, language="sv"):
    return client.get(f"/api/chat/availability?language={language}&entry_point=widget-europe").json()


def test_on_a_saturday_the_widget_gets_the_next_opening_in_utc_and_the_desks_clock(client, saturday):
    answer = ask(client)
    assert (answer["mode"], answer["reason"], answer["demo_mode"]) == ("offline", "closed", False)
    assert answer["next_opening"] == "2026-12-06T22:00:00Z"          # Monday 06:00 in Kuala Lumpur
    assert answer["checked_at"] == "2026-12-05T15:00:00Z"


def test_in_demo_mode_a_saturday_offers_the_chat_when_an_agent_is_online(client, saturday, online_agent):
    set_demo_mode(on=True)
    assert ask(client) == {"mode": "chat", "reason": "open", "region": "europe", "next_opening": None,
                           "checked_at": "2026-12-05T15:00:00Z", "demo_mode": True}
    AgentState.objects.filter(user=online_agent).update(presence="offline")
    assert (ask(client)["mode"], ask(client)["reason"]) == ("offline", "no_agents")
    assert ask(client, "ja")["mode"] == "email"                       # chat is still not offered in Japanese


def test_a_refused_start_carries_the_next_opening_and_the_desks_clock(client, saturday):
    response = client.post("/api/chat/conversations", {"language": "sv", "email": "ada@example.com",
                                                       "entry_point": "widget-europe"}, content_type="application/json")
    assert response.status_code == 409
    body = response.json()
    assert (body["mode"], body["code"], body["next_opening"]) == ("offline", "closed", "2026-12-06T22:00:00Z")
    assert body["checked_at"] == "2026-12-05T15:00:00Z"


def test_the_demo_page_says_when_demo_mode_keeps_chat_open(client, regions):
    assert "Demo mode is on" not in client.get("/widget/demo/").content.decode()
    set_demo_mode(on=True)
    assert "Demo mode is on" in client.get("/widget/demo/").content.decode()
