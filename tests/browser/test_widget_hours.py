"""The widget asks whether chat is open as soon as its panel opens, and a Saturday proves it.

The desk runs on a clock frozen on Saturday 5 December 2026, 15:00 UTC (it ticks on from
there), whatever day the suite runs: the 24x5 window is closed and opens again on Monday
06:00 in Kuala Lumpur, Sunday 22:00 UTC. With the demo switch off the visitor sees the
offline form at once, with that opening in their own zone; with it on and an agent online,
the pre-chat form.
"""


import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.chat.models import Conversation
from apps.policy.services import set_demo_mode
from tests.browser.conftest import in_another_thread
from tests.browser.test_accessibility import audit
from tests.browser.test_chat_widget import PANEL, agent_console

pytestmark = pytest.mark.django_db(transaction=True)

SATURDAY = "2026-12-05T15:00:00+00:00"


@pytest.fixture
def saturday_desk(transactional_db, settings, regions, queues):
    """daphne on the test database, its clock on a Saturday afternoon; a Swedish chat agent exists."""
    from tests.browser.conftest import desk_env, serve

    agent = get_user_model().objects.create_user("agent_sv", password="pw-agent-sv", first_name="Sara",
                                                 last_name="Berg")
    make_agent(user=agent, languages=["sv"], channels=["chat", "email"], time_zone="Europe/Stockholm")
    yield from serve(["tests.browser.frozen_clock", SATURDAY], desk_env(settings.REDIS_URL))


def open_widget(browser, base, *, locale: str, zone: str = "Europe/Stockholm"):
    page = browser.new_context(locale=locale, timezone_id=zone).new_page()
    page.goto(f"{base}/widget/demo/")
    page.click(f"{PANEL} .launcher")
    return page


def text(page, selector: str) -> str:
    # Intl puts narrow and plain no-break spaces in times ("5:00 PM"); compare with plain ones.
    return page.text_content(selector).replace("\u202f", " ").replace("\u00a0", " ")


@pytest.mark.parametrize("locale,zone,notice", [
    ("en-US", "America/New_York", "Live chat is closed now. It opens again on Sunday at 5:00 PM (your time)."),
    ("sv-SE", "Europe/Stockholm", "Chatten är stängd nu. Den öppnar igen på söndag kl. 23:00 (din tid)."),
    ("en-GB", "Asia/Tokyo", "Live chat is closed now. It opens again on Monday at 07:00 (your time)."),
])
def test_on_a_saturday_the_widget_opens_on_the_offline_form_with_the_next_opening_in_the_visitors_zone(
        saturday_desk, browser, locale, zone, notice):
    page = open_widget(browser, saturday_desk, locale=locale, zone=zone)
    page.wait_for_selector(f"{PANEL} #sd-email-form #sd-closed")      # nothing typed, nothing pressed
    assert text(page, f"{PANEL} #sd-closed") == notice
    assert page.locator(f"{PANEL} #sd-prechat").count() == 0
    assert page.input_value(f"{PANEL} input[name=name]") == ""


def test_the_closed_notice_passes_the_accessibility_audit(saturday_desk, browser, artifacts):
    page = open_widget(browser, saturday_desk, locale="de-DE", zone="Europe/Berlin")
    page.wait_for_selector(f"{PANEL} #sd-closed")
    assert text(page, f"{PANEL} #sd-closed") == (
        "Der Chat ist gerade geschlossen. Er öffnet wieder am Sonntag um 23:00 (Ihre Zeit).")
    page.screenshot(path=str(artifacts / "widget-closed-saturday.png"))
    audit(page, "the offline form with the closed notice")


def test_in_demo_mode_the_same_saturday_offers_the_chat_and_an_agent_takes_it(saturday_desk, browser):
    in_another_thread(lambda: set_demo_mode(on=True))
    agent = agent_console(browser, saturday_desk)
    visitor = open_widget(browser, saturday_desk, locale="sv-SE")
    visitor.wait_for_selector(f"{PANEL} #sd-prechat")
    assert visitor.locator(f"{PANEL} #sd-closed").count() == 0
    visitor.fill(f"{PANEL} input[name=name]", "Ada Lind")
    visitor.fill(f"{PANEL} input[name=email]", "ada@example.com")
    visitor.click(f"{PANEL} #sd-prechat button[type=submit]")
    visitor.wait_for_selector(f"{PANEL} #sd-composer")
    agent.wait_for_selector("#offers .offer button", timeout=10_000).click()
    visitor.wait_for_function(
        f"document.querySelector('{PANEL}').shadowRoot.querySelector('.agent').textContent.includes('Sara Berg')")
    assert in_another_thread(lambda: Conversation.objects.get().started_at.isoformat()).startswith("2026-12-05")


def test_when_chat_closes_between_opening_and_start_the_refusal_keeps_what_was_typed(saturday_desk, browser):
    in_another_thread(lambda: set_demo_mode(on=True))
    agent_console(browser, saturday_desk)
    visitor = open_widget(browser, saturday_desk, locale="sv-SE", zone="America/New_York")
    visitor.wait_for_selector(f"{PANEL} #sd-prechat")
    visitor.fill(f"{PANEL} input[name=name]", "Ada Lind")
    visitor.fill(f"{PANEL} input[name=email]", "ada@example.com")
    in_another_thread(lambda: set_demo_mode(on=False))          # an administrator turns demo mode off
    visitor.click(f"{PANEL} #sd-prechat button[type=submit]")
    visitor.wait_for_selector(f"{PANEL} #sd-email-form #sd-closed")
    assert text(page=visitor, selector=f"{PANEL} #sd-closed").endswith("på söndag kl. 17:00 (din tid).")
    assert visitor.input_value(f"{PANEL} input[name=name]") == "Ada Lind"
    assert visitor.input_value(f"{PANEL} input[name=email]") == "ada@example.com"
    assert not in_another_thread(lambda: Conversation.objects.exists())


def test_changing_the_language_asks_again(saturday_desk, browser):
    in_another_thread(lambda: set_demo_mode(on=True))
    agent_console(browser, saturday_desk)                       # a Swedish agent; nobody for German
    visitor = open_widget(browser, saturday_desk, locale="de-DE")
    visitor.wait_for_selector(f"{PANEL} #sd-email-form")
    assert text(visitor, f"{PANEL} .notice") == "Gerade ist kein Mitarbeiter für Ihre Sprache frei."
    visitor.fill(f"{PANEL} input[name=name]", "Ada Lind")
    visitor.select_option(f"{PANEL} select[name=language]", "sv")
    visitor.wait_for_selector(f"{PANEL} #sd-prechat")
    assert visitor.input_value(f"{PANEL} input[name=name]") == "Ada Lind"
    visitor.select_option(f"{PANEL} select[name=language]", "ja")
    visitor.wait_for_selector(f"{PANEL} #sd-email-form")
    assert "チャットは日本語に対応していません" in visitor.text_content(f"{PANEL} .notice")
    assert visitor.input_value(f"{PANEL} input[name=name]") == "Ada Lind"


def test_an_opening_more_than_six_days_away_is_shown_with_its_date(saturday_desk, browser):
    answer = ('{"mode": "offline", "reason": "closed", "region": "europe", "next_opening": "2026-12-21T07:00:00Z", '
              '"checked_at": "2026-12-05T15:00:03Z", "demo_mode": false}')
    page = browser.new_context(locale="en-GB", timezone_id="Europe/London").new_page()
    page.route("**/api/chat/availability?*", lambda route: route.fulfill(
        status=200, content_type="application/json", body=answer))
    page.goto(f"{saturday_desk}/widget/demo/")
    page.click(f"{PANEL} .launcher")
    page.wait_for_selector(f"{PANEL} #sd-closed")
    assert text(page, f"{PANEL} #sd-closed") == (
        "Live chat is closed now. It opens again on Monday 21 December at 07:00 (your time).")
