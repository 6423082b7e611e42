"""The demo's User Support Manager changes an hour and adds a canned response in Chromium, without /admin/.

The desk's clock starts on Monday 7 December 2026, 16:30 UTC (17:30 in Stockholm, half an hour after
Europe's phone closes) whatever day the suite runs; the demo runs with its real hours.
"""

import pytest
from django.contrib.auth import get_user_model

from apps.desk import actions
from apps.desk.demo import DEMO_PASSWORD, seed_demo
from apps.policy.models import ServiceWindow
from apps.tickets import services as tickets
from tests.browser.test_accessibility import audit

pytestmark = pytest.mark.django_db(transaction=True)

MONDAY_EVENING = "2026-12-07T16:30:00+00:00"
AVAILABILITY = "/api/availability?channel=voice&language=sv&region=europe"


@pytest.fixture
def demo_desk(transactional_db, settings):
    """The demo data with real hours and one Swedish email ticket, written before daphne and Playwright start."""
    from tests.browser.conftest import desk_env, serve

    seed_demo(real_hours=True)
    contact = tickets.find_or_create_contact(email="ada@example.com", name="Ada Lind", language="sv")
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="Hej!",
                                 external_ref="<settings-1@example.com>")
    for url in serve(["tests.browser.frozen_clock", MONDAY_EVENING], desk_env(settings.REDIS_URL)):
        yield ticket, url


def sign_in(context, base, username: str):
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next=/console/")
    page.fill("#id_username", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    return page


def phone_open(page, base) -> bool:
    return page.evaluate(f"fetch('{base}{AVAILABILITY}').then(r => r.json()).then(a => a.open)")


def test_the_manager_changes_an_hour_and_adds_a_canned_response(demo_desk, browser, artifacts):
    ticket, base = demo_desk
    window_id = ServiceWindow.objects.get().pk
    agent_id = get_user_model().objects.get(username="agent_sv").pk
    context = browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900})
    page = sign_in(context, base, "manager")
    assert phone_open(page, base) is False                      # 17:30 in Stockholm: closed

    page.click("#settings-link")
    page.wait_for_url("**/console/settings/")
    page.screenshot(path=str(artifacts / "console-settings-desktop.png"), full_page=True)
    page.click(".settings-tabs >> text=Business hours")
    page.wait_for_url("**/console/settings/hours/")
    page.click("#hours-europe a.button")
    page.wait_for_url("**/console/settings/hours/europe/")
    assert page.input_value("#id_periods-0-end") == "17:00"     # Monday
    page.fill("#id_periods-0-end", "18:00")
    page.click("#save-hours")
    page.wait_for_url("**/console/settings/hours/")
    assert "Monday 08:00–18:00" in page.inner_text("#hours-europe")
    assert page.inner_text("[role=status]").startswith("The business hours of Europe are saved.")
    assert phone_open(page, base) is True                       # at once, no restart
    page.screenshot(path=str(artifacts / "console-settings-hours-desktop.png"), full_page=True)
    audit(page, "the settings' business hours")

    page.click(".settings-tabs >> text=Canned responses")
    page.wait_for_url("**/console/settings/canned/")
    page.click("#new-canned")
    page.wait_for_url("**/console/settings/canned/new/")
    page.fill("#id_title_en", "Looking into it")
    page.fill("#id_body_en", "Hello {name}, we are looking into {reference}.")
    page.fill("#id_title_sv", "Vi tittar på det")
    page.fill("#id_body_sv", "Hej {name}, vi tittar på {reference}.")
    page.click("#save-canned")
    page.wait_for_url("**/console/settings/canned/")
    assert "Looking into it" in page.inner_text("#canned-list")
    audit(page, "the settings' canned responses")
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "console-settings-canned-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= 390")     # nothing wider than the phone
    context.close()

    # Every other settings screen, in Swedish, at desktop and phone widths: audited and photographed.
    swedish = browser.new_context(locale="sv-SE", viewport={"width": 1280, "height": 900})
    page = sign_in(swedish, base, "manager")
    for name, path in (("dates", "/console/settings/dates/"), ("keys", "/console/settings/keys/"),
                       ("agents", "/console/settings/agents/"), ("window", "/console/settings/windows/{window}/"),
                       ("region-hours", "/console/settings/hours/europe/")):
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(base + path.format(window=window_id))
        audit(page, f"the settings' {name}")
        page.screenshot(path=str(artifacts / f"console-settings-{name}-desktop.png"), full_page=True)
        page.set_viewport_size({"width": 390, "height": 844})
        page.screenshot(path=str(artifacts / f"console-settings-{name}-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{base}/console/settings/agents/")
    page.click(f"#agent-{agent_id} a.button")
    audit(page, "an agent's skills")
    page.screenshot(path=str(artifacts / "console-settings-agent-desktop.png"), full_page=True)
    assert "Juldagen" in page.goto(f"{base}/console/settings/dates/").text()
    swedish.close()

    # The Swedish agent finds it on the Swedish ticket at once, in Swedish, filled in.
    agent_context = browser.new_context(locale="sv-SE")
    agent_page = sign_in(agent_context, base, "agent_sv")
    agent_page.goto(f"{base}/console/tickets/{ticket.reference}/")
    agent_page.click("#reply-body")
    agent_page.keyboard.type("/Vi tittar")                # the composer's canned search
    agent_page.wait_for_selector("#canned-list", state="visible")
    titles = agent_page.eval_on_selector_all("#canned-list [role=option] .canned-title",
                                             "els => els.map(e => e.textContent)")
    assert titles == ["Vi tittar på det"]
    agent_page.keyboard.press("Enter")
    assert agent_page.input_value("#reply-body") == f"Hej Ada Lind, vi tittar på {ticket.reference}."
    assert "/console/settings/" not in agent_page.content()      # no settings link for an agent
    agent_context.close()
