"""The staffing forecast page and its CSV: the User Support Manager's only, in the viewer's language."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.reports.tests.test_staffing_forecast import FIRST_MONDAY, NOW, History, local, naive_needed


@pytest.fixture
def manager(db):
    user = get_user_model().objects.create_user("usm", password="pw")
    make_agent(user=user, languages=["en"], channels=["email"], manager=True)
    return user


@pytest.fixture
def busy_mondays(contact, agent):
    history = History(contact)
    for week in range(8):
        for n in range(12):
            history.ticket(at=local(FIRST_MONDAY + timedelta(weeks=week), 9, 4 * n + 1), handled=400,
                           agent_id=agent.pk)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_an_agent_is_refused_the_page_and_the_csv_and_a_visitor_is_asked_to_sign_in(client, agent, regions, frozen):
    for url in ("/reports/staffing/", "/reports/staffing/forecast.csv"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    client.force_login(agent)
    for url in ("/reports/staffing/", "/reports/staffing/forecast.csv"):
        assert client.get(url).status_code == 403      # signed in already: sending them to sign in again says nothing


def test_the_manager_sees_a_week_grid_per_live_queue(client, manager, regions, busy_mondays, frozen):
    client.force_login(manager)
    html = client.get("/reports/staffing/").content.decode()
    assert html.count('class="staffing-grid"') == 6
    assert "Swedish · Chat" in html and "English · Phone" in html
    assert "Hours in Europe / Stockholm, weeks from 2026-02-16 to 2026-04-12." in html
    assert "First-response target: 1 min." in html and "Hours in America / New York" in html   # words, not ids
    assert "Average handling time 6 min 40 s, from 96 handled contacts." in html
    monday = html.split('id="queue-chat-sv"')[1].split("</tr>")[1]      # the header row, then Monday
    needed = naive_needed(per_hour=12, handle=400, answer=60)
    assert "<th scope=\"row\">Monday</th>" in monday
    assert f'data-needed="{needed}"' in monday
    # Nobody serves Swedish chat but agent_sv: three agents needed is understaffed, said in words.
    assert needed > 1 and "understaffed" in monday
    assert "No handled contact in these weeks: a handling time of 6 min is assumed." in html    # voice


def test_the_page_speaks_the_viewers_language(client, manager, regions, frozen):
    client.force_login(manager)
    html = client.get("/reports/staffing/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Svenska · Chatt" in html and "måndag" in html
    assert ">sv<" not in html and "Swedish" not in html


def test_the_csv_has_one_row_per_queue_and_hour_with_codes_and_words(client, manager, regions, busy_mondays,
                                                                     frozen):
    client.force_login(manager)
    response = client.get("/reports/staffing/forecast.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    header, body = rows[0], rows[1:]
    assert len(body) == 6 * 7 * 24
    row = next(r for r in body if r[0] == "sv" and r[2] == "chat" and r[5] == "0" and r[7] == "09:00")
    named = dict(zip(header, row, strict=True))
    assert (named["Language"], named["Channel"], named["Day"]) == ("Swedish", "Chat", "Monday")
    assert named["Arrivals"] == "96" and named["Arrivals per hour"] == "12.000"
    assert named["Handling time (seconds)"] == "400"
    assert named["Agents needed"] == str(naive_needed(per_hour=12, handle=400, answer=60))
    assert named["Understaffed"] == "yes" and named["Online now"] == "" and named["Online on average"] == ""
    now_row = next(r for r in body if r[0] == "sv" and r[2] == "chat" and r[5] == "2" and r[7] == "12:00")
    assert dict(zip(header, now_row, strict=True))["Online now"] == "0"


def test_the_sla_dashboard_and_the_manager_console_link_to_the_forecast(client, manager, regions, frozen):
    client.force_login(manager)
    for url in ("/reports/sla/", "/console/manager/"):
        assert 'href="/reports/staffing/"' in client.get(url).content.decode()


def test_the_window_follows_the_clock(client, manager, regions):
    client.force_login(manager)
    with time_machine.travel(datetime(2026, 11, 4, 12, tzinfo=UTC), tick=False):
        html = client.get("/reports/staffing/").content.decode()
    # Stockholm left summer time on 25 October: the weeks still run Monday to Sunday locally.
    assert "Hours in Europe / Stockholm, weeks from 2026-09-07 to 2026-11-01." in html
