"""The public preview and availability answers, over HTTP and from the command line."""

import json

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError


def test_preview_endpoint_answers_in_utc(client, regions):
    response = client.get("/api/sla/preview",
                          {"region": "europe", "channel": "email", "received": "2025-12-23T15:00+01:00"})
    assert response.status_code == 200
    assert response.json() == {"acknowledge_due": "2025-12-30T08:00:00Z",
                               "response_due": "2025-12-23T22:00:00Z"}


@pytest.mark.parametrize("params,message", [
    ({"region": "mars", "channel": "email", "received": "2025-12-23T15:00+01:00"}, "Unknown region"),
    ({"region": "europe", "channel": "fax", "received": "2025-12-23T15:00+01:00"}, "No SLA policy"),
    ({"region": "europe", "channel": "email", "received": "2025-12-23T15:00"}, "naive"),
    ({"region": "europe", "channel": "email", "received": "9999-12-31T23:59:59Z"}, "outside"),
])
def test_preview_bad_input_is_a_clear_400(client, regions, params, message):
    response = client.get("/api/sla/preview", params)
    assert response.status_code == 400
    assert message in response.json()["detail"]


def test_sla_due_command_prints_the_same_json(regions, capsys):
    call_command("sla_due", region="europe", channel="email", received="2025-12-23T15:00+01:00")
    assert json.loads(capsys.readouterr().out) == {"acknowledge_due": "2025-12-30T08:00:00Z",
                                                    "response_due": "2025-12-23T22:00:00Z"}
    with pytest.raises(CommandError, match="not an ISO-8601"):
        call_command("sla_due", region="europe", channel="email", received="tomorrow")


@time_machine.travel("2025-05-16 23:30 +00:00", tick=False)   # Friday 19:30 New York
def test_availability_open_and_closed_with_next_opening(client, regions):
    chat = client.get("/api/availability", {"channel": "chat", "language": "de", "region": "europe"}).json()
    assert (chat["open"], chat["reason"], chat["agents_online"]) == (True, "open", 0)   # open, but nobody there
    phone = client.get("/api/availability", {"channel": "voice", "language": "sv", "region": "europe"}).json()
    assert (phone["open"], phone["next_opening"]) == (False, "2025-05-19T06:00:00Z")   # Mon 08:00 CEST
    japanese = client.get("/api/availability", {"channel": "chat", "language": "ja", "region": "japan"}).json()
    assert (japanese["open"], japanese["reason"], japanese["next_opening"]) == (
        False, "language_not_served", None)


@time_machine.travel("2025-05-17 00:30 +00:00", tick=False)   # Friday 20:30 New York: 24x5 closed
def test_chat_window_closed_after_friday_evening_in_new_york(client, regions):
    chat = client.get("/api/availability", {"channel": "chat", "language": "en", "region": "us"}).json()
    assert (chat["open"], chat["next_opening"]) == (False, "2025-05-18T22:00:00Z")


@time_machine.travel("2025-12-24 10:00 +00:00", tick=False)   # Christmas Eve: Europe's phones closed
def test_phone_follows_regional_holidays(client, regions):
    phone = client.get("/api/availability", {"channel": "voice", "language": "sv", "region": "europe"}).json()
    assert (phone["open"], phone["next_opening"]) == (False, "2025-12-29T07:00:00Z")
    us = client.get("/api/availability", {"channel": "voice", "language": "en", "region": "us"}).json()
    assert us["open"] is False      # 05:00 in New York


def test_availability_bad_input(client, regions):
    response = client.get("/api/availability", {"channel": "chat", "language": "fi", "region": "europe"})
    assert response.status_code == 400 and "Unsupported language" in response.json()["detail"]


@time_machine.travel("2025-05-19 09:00 +00:00", tick=False)
def test_availability_counts_the_online_agents_of_a_live_channel(client, regions, agent):
    from apps.routing.services import heartbeat

    heartbeat(user=agent)
    chat = client.get("/api/availability", {"channel": "chat", "language": "sv", "region": "europe"}).json()
    assert chat["agents_online"] == 1
    email = client.get("/api/availability", {"channel": "email", "language": "sv", "region": "europe"}).json()
    assert email["agents_online"] is None


def test_each_availability_endpoint_is_documented_with_its_own_schema(client, db):
    """Two schemas named alike made the OpenAPI document describe /api/availability with the widget's."""
    document = client.get("/api/openapi.json").json()
    schemas = document["components"]["schemas"]

    def response_schema(path):
        ref = document["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
        return schemas[ref.rsplit("/", 1)[-1]]["properties"]

    assert {"channel", "open", "agents_online", "checked_at"} <= set(response_schema("/api/availability"))
    assert {"mode", "reason", "next_opening"} <= set(response_schema("/api/chat/availability"))
