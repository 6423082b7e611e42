"""The agent's profile, the language switcher, one date format and the alerts, in Chromium."""

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.tickets import services as tickets
from tests.browser.test_chat_widget import chat_desk, visitor_asks  # noqa: F401 (a fixture)

pytestmark = pytest.mark.django_db(transaction=True)

RECEIVED = "2026-12-05 07:17 +00:00"      # 08:17 in Stockholm, 02:17 in New York


@pytest.fixture
def ticket_for_sara(regions, queues):
    """Sara's email ticket received at a fixed instant, written before Playwright starts its loop."""
    agent = get_user_model().objects.create_user("agent_sv", password="pw-agent-sv", first_name="Sara",
                                                 last_name="Berg")
    make_agent(user=agent, languages=["sv"], channels=["email"], time_zone="Europe/Stockholm")
    contact = tickets.find_or_create_contact(email="ada@example.com", name="Ada Lind", language="sv",
                                             region=regions["europe"])
    with time_machine.travel(RECEIVED, tick=False):
        return actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="Hej!",
                                   external_ref="<profile-1@example.com>")


def sign_in(context, base):
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next=/console/")
    page.fill("#id_username", "agent_sv")
    page.fill("#id_password", "pw-agent-sv")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    return page


def first_time(page) -> tuple[str, str]:
    return tuple(page.eval_on_selector("#thread time", "t => [t.textContent, CONSOLE.localTime(t.dateTime)]"))


def test_the_profile_changes_the_consoles_language_and_zone(ticket_for_sara, desk_server, browser, artifacts):
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = sign_in(context, desk_server)
    assert page.get_attribute("html", "lang") == "en"
    page.click("#profile-link")
    page.wait_for_url("**/console/profile/")
    page.screenshot(path=str(artifacts / "console-profile-desktop.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "console-profile-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= 390")      # nothing wider than the phone
    page.set_viewport_size({"width": 1280, "height": 900})

    page.goto(f"{desk_server}/console/tickets/{ticket_for_sara.reference}/")
    rendered, live = first_time(page)
    assert rendered == live == "12/5/26, 8:17 AM"        # the server writes what the script writes

    page.goto(f"{desk_server}/console/profile/")
    page.fill("#id_display_name", "Sara B.")
    page.select_option("#id_language", "sv")
    page.select_option("#id_time_zone", "America/New_York")
    page.click("#save-profile")
    page.wait_for_url("**/console/profile/")
    assert page.get_attribute("html", "lang") == "sv"    # the browser still asks for English
    assert page.inner_text("header").count("Köer") == 1 and page.inner_text("#profile-link") == "Sara B."
    page.goto(f"{desk_server}/console/tickets/{ticket_for_sara.reference}/")
    rendered, live = first_time(page)
    assert rendered == live == "2026-12-05 02:17"        # Swedish, in New York
    assert page.inner_text("#ticket-assignee") in {"—", "Sara B."}
    assert page.inner_text("#thread .meta").startswith("Ada Lind · 2026-12-05 02:17")
    context.close()


def test_the_switcher_on_every_page_changes_the_language_where_the_agent_is(ticket_for_sara, desk_server, browser):
    context = browser.new_context(locale="en-US")
    page = sign_in(context, desk_server)
    url = f"{desk_server}/console/tickets/{ticket_for_sara.reference}/"
    page.goto(url)
    names = page.eval_on_selector_all("#switch-language option", "os => os.map(o => o.textContent)")
    assert names == ["English", "Svenska", "Español", "Deutsch", "中文", "日本語"]
    with page.expect_navigation():
        page.select_option("#switch-language", "de")
    assert page.url == url and page.get_attribute("html", "lang") == "de"
    assert page.input_value("#switch-language") == "de"
    assert first_time(page) == ("05.12.26, 08:17", "05.12.26, 08:17")
    page.goto(f"{desk_server}/console/")
    assert page.get_attribute("html", "lang") == "de"      # kept: on the profile
    context.close()


RECORD = """() => {
  window.shown = []; window.played = [];
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title, options) { super(title, options); window.shown.push({title, body: (options || {}).body}); }
  }
  Object.defineProperty(Recorded, 'permission', {get: () => Real.permission});
  Recorded.requestPermission = Real.requestPermission.bind(Real);
  window.Notification = Recorded;
  const play = HTMLMediaElement.prototype.play;
  HTMLMediaElement.prototype.play = function () {
    window.played.push(this.src); return play.call(this).catch(() => {});
  };
}"""


def test_a_new_offer_rings_and_shows_a_notification(chat_desk, desk_server, browser):  # noqa: F811
    context = browser.new_context(locale="sv-SE")
    context.grant_permissions(["notifications"], origin=desk_server)
    context.add_init_script(f"({RECORD})()")
    agent = sign_in(context, desk_server)
    agent.wait_for_selector("#live-status.on", timeout=10_000)
    assert agent.evaluate("Notification.permission") == "granted"
    visitor_asks(browser, desk_server)
    agent.wait_for_selector("#offers .offer button", timeout=10_000)
    agent.wait_for_function("window.shown.length === 1")
    [shown] = agent.evaluate("window.shown")
    assert shown["title"] == agent.inner_text("#offers .offer-text")
    assert "Nytt ärende · Chatt · Svenska: " in shown["title"]          # words, not "via chat på sv"
    assert agent.evaluate("window.played") == [f"{desk_server}/static/console/attention.wav"]
    assert agent.request.get(f"{desk_server}/static/console/attention.wav").body()[:4] == b"RIFF"
    context.close()


def test_with_alerts_off_an_offer_is_quiet(chat_desk, desk_server, browser):  # noqa: F811
    profile = chat_desk.agent_profile
    profile.notifications = False
    profile.save()
    context = browser.new_context(locale="sv-SE")
    context.grant_permissions(["notifications"], origin=desk_server)
    context.add_init_script(f"({RECORD})()")
    agent = sign_in(context, desk_server)
    agent.wait_for_selector("#live-status.on", timeout=10_000)
    visitor_asks(browser, desk_server)
    agent.wait_for_selector("#offers .offer button", timeout=10_000)
    agent.wait_for_timeout(500)
    assert agent.evaluate("[window.shown.length, window.played.length]") == [0, 0]
    context.close()


def test_an_offer_is_worded_in_the_agents_language_not_the_tickets(chat_desk, desk_server, browser):  # noqa: F811
    """Sara reads German (her profile), her browser asks for Swedish, the visitor writes Swedish:
    the offer names the channel and the language in German, codes nowhere."""
    profile = chat_desk.agent_profile
    profile.language = "de"
    profile.save()
    context = browser.new_context(locale="sv-SE")
    context.grant_permissions(["notifications"], origin=desk_server)
    context.add_init_script(f"({RECORD})()")
    agent = sign_in(context, desk_server)
    agent.wait_for_selector("#live-status.on", timeout=10_000)
    visitor_asks(browser, desk_server)
    agent.wait_for_selector("#offers .offer button", timeout=10_000)
    agent.wait_for_function("window.shown.length === 1")
    offer = agent.evaluate("window.shown[0].title")
    assert offer.startswith("Neues Ticket · Chat · Schwedisch: "), offer      # not "via chat auf sv"
    assert agent.inner_text("#offers .offer-text") == offer              # the card says what the notification said
    agent.reload()                                                        # sent again on connect: same words
    agent.wait_for_selector("#offers .offer button", timeout=10_000)
    assert agent.inner_text("#offers .offer-text") == offer
    context.close()
