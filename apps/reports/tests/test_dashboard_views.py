"""The dashboard page and its CSV exports: managers only, words in the viewer's language, codes beside them in CSV."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.utils import translation
from django.utils.translation import gettext

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.outbox.models import OutboxItem
from apps.reports.dashboard import NAMES

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 7, 15, 10, tzinfo=UTC)        # Wednesday, 12:00 in Stockholm


@pytest.fixture
def manager(db):
    user = get_user_model().objects.create_user("usm", password="pw", first_name="Maja")
    make_agent(user=user, languages=["sv", "en"], channels=["email"], manager=True, time_zone="Europe/Stockholm")
    return user


@pytest.fixture
def desk(contact, agent):
    """A chat answered in time, one answered late (both held by the agent), one still waiting; a dead letter."""
    def chat(at, ref, reply_after=None):
        with time_machine.travel(at, tick=False):
            ticket = actions.open_ticket(channel="chat", contact=contact, subject="", body="x", external_ref=ref)
        if reply_after:
            with time_machine.travel(at + reply_after, tick=False):
                actions.assign_ticket(ticket=ticket, assignee=agent)      # the agent took it, and answered
                actions.add_message(ticket=ticket, direction="outbound", body="hej", author_user=agent)
        return ticket

    made = [chat(datetime(2026, 7, 14, 8, tzinfo=UTC), "a", timedelta(seconds=20)),
            chat(datetime(2026, 7, 14, 9, tzinfo=UTC), "b", timedelta(minutes=3)),
            chat(datetime(2026, 7, 15, 9, 58, tzinfo=UTC), "c")]
    OutboxItem.objects.create(kind="mail.reply", key="k1", status=OutboxItem.Status.DEAD, next_attempt_at=NOW,
                              expires_at=NOW)
    return made


def get(client, url, **headers):
    with time_machine.travel(NOW, tick=False):
        return client.get(url, **headers)


def rows_of(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.content.decode())))


def test_the_page_and_its_csv_are_for_the_manager_only(client, agent, manager, desk):
    assert get(client, "/reports/sla/?period=week").status_code == 302                # to the sign-in page
    client.force_login(agent)
    assert get(client, "/reports/sla/?period=week").status_code == 403
    assert get(client, "/reports/sla/?period=week&format=csv&table=breaches").status_code == 403
    client.force_login(manager)
    assert get(client, "/reports/sla/?period=week").status_code == 200
    assert get(client, "/reports/sla/?period=week&format=csv&table=nonsense").status_code == 404


def test_the_page_shows_words_in_the_managers_language_a_chart_and_every_table(client, manager, desk):
    client.force_login(manager)
    html = get(client, "/reports/sla/?period=week", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    for name in NAMES:
        assert f'id="table-{name}"' in html and f"format=csv&amp;table={name}" in html
    assert '<svg role="img" aria-label="Andel uppfyllda' in html or '<svg role="img" aria-label="Share' in html
    assert "kozea.github.io" not in html                # no script from elsewhere
    assert "2026-07-13 – 2026-07-19 (Europe/Stockholm)" in html
    # Each cell carries its column's title, which a phone shows above the value (one block per row).
    assert '<td data-label="Kanal">Chatt</td>' in html
    html = re.sub(r' data-label="[^"]*"', "", html)
    by_channel = html.split('id="table-compliance_channel"', 1)[1].split("</section>", 1)[0]
    assert "<td>Chatt</td>" in by_channel and "<td>chat</td>" not in by_channel
    queues = html.split('id="table-queues"', 1)[1].split("</section>", 1)[0]
    assert "<td>Svenska</td><td>Chatt</td><td>1</td><td>2:00</td>" in queues
    breaches = html.split('id="table-breaches"', 1)[1].split("</section>", 1)[0]
    assert f'href="/console/tickets/{desk[1].reference}/"' in breaches
    assert "Första svar" in breaches and "2 min" in breaches
    policies = html.split('id="table-policies"', 1)[1].split("</section>", 1)[0]
    assert "<td>1 min · Faktisk tid (dygnet runt)</td>" in policies and "))" not in policies   # one parenthesis
    outbox = html.split('id="table-outbox"', 1)[1].split("</section>", 1)[0]
    assert 'href="/console/outbox/"' in outbox and "<td>Kan inte levereras</td><td>1</td>" in outbox


@pytest.mark.parametrize("name", NAMES)
def test_each_table_downloads_as_csv_with_codes_and_words(client, manager, desk, name):
    client.force_login(manager)
    response = get(client, f"/reports/sla/?period=week&format=csv&table={name}", HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert f'filename="{name}-20260713-20260719.csv"' in response["Content-Disposition"]
    rows = rows_of(response)
    with translation.override("sv"):
        europe = gettext("Europe")           # the default region's name, once the catalogue has it
    expected = {
        "compliance_channel": lambda: {(r["channel"], r["channel_label"], r["target"], r["met"], r["breached"])
                                       for r in rows} == {("chat", "Chatt", "first_response", "1", "1"),
                                                          ("chat", "Chatt", "acknowledge", "2", "0")},
        "compliance_language": lambda: {r["language_label"] for r in rows} == {"Svenska"},
        "compliance_region": lambda: {(r["region"], r["region_label"]) for r in rows} == {("europe", europe)},
        "trend": lambda: [(r["period_start"], r["channel"], r["channel_label"], r["met"], r["breached"],
                           r["compliance"]) for r in rows] == [
            ("2026-07-13", "chat", "Chatt", "0", "0", ""), ("2026-07-14", "chat", "Chatt", "3", "1", "0.7500"),
            ("2026-07-15", "chat", "Chatt", "0", "0", "")],
        "queues": lambda: {"language": "sv", "language_label": "Svenska", "channel": "chat", "channel_label": "Chatt",
                           "waiting": "1", "longest_seconds": "120", "median_seconds": "120"} in rows,
        "agents": lambda: {(r["username"], r["presence"], r["presence_label"], r["languages_label"]) for r in rows}
        == {("agent_sv", "offline", "Offline", "Svenska"), ("usm", "offline", "Offline", "Svenska, Engelska")},
        "breaches": lambda: [(r["reference"], r["target"], r["target_label"], r["late_seconds"], r["status_label"])
                             for r in rows] == [(desk[1].reference, "first_response", "Första svar", "120", "Öppet")],
        "misassignments": lambda: rows == [],
        "outbox": lambda: {(r["status"], r["status_label"], r["count"]) for r in rows} >= {
            ("dead", "Kan inte levereras", "1")},
        "ratings": lambda: rows == [],
        "policies": lambda: {(r["channel"], r["response_seconds"]) for r in rows} >= {("chat", "60"),
                                                                                       ("voice", "180")},
    }[name]
    assert expected(), rows


def test_presets_and_a_chosen_period(client, manager, desk):
    client.force_login(manager)
    today = rows_of(get(client, "/reports/sla/?period=today&format=csv&table=breaches"))
    assert today == []                                  # the late chat came yesterday
    chosen = rows_of(get(client, "/reports/sla/?from=2026-07-14&to=2026-07-14&format=csv&table=breaches"))
    assert [row["reference"] for row in chosen] == [desk[1].reference]
    quarter = get(client, "/reports/sla/?period=quarter")
    assert "2026-07-01 – 2026-09-30" in quarter.content.decode()
