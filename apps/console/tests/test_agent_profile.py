"""The agent's own profile page and the language switcher: what they choose shows on the next page."""

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.desk import actions

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed_in(client, agent):
    agent.first_name, agent.last_name = "Sara", "Berg"
    agent.save()
    client.force_login(agent)
    return client


def choose(client, **changes):
    form = {"display_name": "", "signature": "", "time_zone": "Europe/Stockholm", "language": "",
            "notifications": "on", **changes}
    return client.post("/console/profile/", {k: v for k, v in form.items() if v is not None})


def test_the_profile_page_shows_the_agents_settings_and_is_linked_from_every_console_page(signed_in):
    page = signed_in.get("/console/profile/", HTTP_ACCEPT_LANGUAGE="en")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'name="display_name"' in html and 'name="signature"' in html and 'name="notifications"' in html
    assert '<option value="Europe/Stockholm">Europe / Stockholm</option>' in html
    assert '<option value="sv">Svenska</option>' in html and '<option value="zh-hans">中文</option>' in html
    home = signed_in.get("/console/").content.decode()
    assert 'id="profile-link"' in home and 'href="/console/profile/"' in home and ">Sara Berg</a>" in home


def test_a_chosen_language_wins_over_the_browsers(signed_in, agent):
    response = choose(signed_in, language="sv", display_name="Sara B.", signature="Sara\nKundsupport")
    assert response.status_code == 302 and response["Location"] == "/console/profile/"
    assert response.cookies["django_language"].value == "sv"     # the sign-in page follows too
    page = signed_in.get("/console/", HTTP_ACCEPT_LANGUAGE="en")
    assert page["Content-Language"] == "sv" and '<html lang="sv">' in page.content.decode()
    assert ">Sara B.</a>" in page.content.decode()
    profile = agent.agent_profile
    profile.refresh_from_db()
    assert (profile.display_name, profile.signature, profile.language) == ("Sara B.", "Sara\nKundsupport", "sv")


def test_as_my_browser_follows_accept_language_again(signed_in):
    choose(signed_in, language="de")
    choose(signed_in, language="")
    assert signed_in.get("/console/", HTTP_ACCEPT_LANGUAGE="ja")["Content-Language"] == "ja"


@time_machine.travel("2026-12-05 07:17 +00:00", tick=False)
def test_a_chosen_zone_shifts_every_shown_time(signed_in, contact):
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="hej",
                                 external_ref="<m-zone@example.com>")
    choose(signed_in, language="sv", time_zone="Europe/Stockholm")
    assert "2026-12-05 08:17</time>" in signed_in.get(f"/console/tickets/{ticket.reference}/").content.decode()
    choose(signed_in, language="sv", time_zone="America/New_York")
    html = signed_in.get(f"/console/tickets/{ticket.reference}/").content.decode()
    assert "2026-12-05 02:17</time>" in html and "08:17</time>" not in html


def test_a_bad_zone_is_refused_with_the_form_shown_again(signed_in, agent):
    response = choose(signed_in, time_zone="Mars/Olympus")
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    agent.agent_profile.refresh_from_db()
    assert agent.agent_profile.time_zone == "UTC"


def test_notifications_follow_the_profile_setting(signed_in):
    assert "notify: true" in signed_in.get("/console/").content.decode()
    choose(signed_in, notifications=None)       # an unticked box is not sent
    assert "notify: false" in signed_in.get("/console/").content.decode()


def test_the_switcher_on_every_page_keeps_the_choice_and_returns_where_the_agent_was(signed_in, agent, contact):
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="hej",
                                 external_ref="<m-switch@example.com>")
    page = signed_in.get(f"/console/tickets/{ticket.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="language-switcher"' in page and '<option value="ja" lang="ja">日本語</option>' in page
    back = f"/console/tickets/{ticket.reference}/"
    response = signed_in.post("/console/profile/language/", {"language": "ja", "next": back})
    assert response.status_code == 302 and response["Location"] == back
    agent.agent_profile.refresh_from_db()
    assert agent.agent_profile.language == "ja"
    assert signed_in.get(back, HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "ja"
    # Somewhere else, or an unknown language: not followed.
    assert signed_in.post("/console/profile/language/", {"language": "sv", "next": "https://evil.example/"}
                          )["Location"] == "/console/"
    assert signed_in.post("/console/profile/language/", {"language": "xx"}).status_code == 400


def test_a_user_without_an_agent_profile_has_no_profile_page(client, db):
    boss = get_user_model().objects.create_superuser("root", password="pw")
    client.force_login(boss)
    assert client.get("/console/profile/").status_code == 404
    assert 'id="profile-link"' not in client.get("/console/").content.decode()


def test_the_console_names_agents_by_their_display_name(signed_in, agent, contact):
    agent.agent_profile.display_name = "Sara B."
    agent.agent_profile.save()
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="hej",
                                 external_ref="<m-name@example.com>")
    signed_in.post(f"/console/tickets/{ticket.reference}/take/")
    signed_in.post(f"/console/tickets/{ticket.reference}/reply/", {"body": "Hej!", "kind": "reply"})
    html = signed_in.get(f"/console/tickets/{ticket.reference}/").content.decode()
    assert '<span id="ticket-assignee">Sara B.</span>' in html
    assert f'<option value="{agent.pk}">Sara B.</option>' in html        # the transfer list
    assert "agent_sv" not in html.replace('"agent_sv"', "")               # no username shown
    assert ">Sara B.</td>" in signed_in.get("/console/").content.decode()
