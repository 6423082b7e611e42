"""Every console and widget screen, at desktop (1280 px) and phone (390 px) width, saved for a person to look at.

One run per width on the demo data (``seed_demo``) and a few tickets of every channel, the desk's
clock on Tuesday 8 December 2026, 09:00 UTC (10:00 in Stockholm: phone and chat open): the sign-in
page; agent_sv's console (views, a ticket of each channel, search, profile); the widget in every state
(launcher, offline, pre-chat, waiting, chatting, ended, rated; closed on a Saturday); the manager's
dashboard, reports and undelivered list; an owner's portal. Each screen is written to
``test-artifacts/screen-<name>-<width>.png``, and each must fit the screen's width (no sideways
scrolling), link the favicon and pass axe-core's WCAG 2.1 AA audit.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.desk import actions
from apps.desk.demo import DEMO_PASSWORD, seed_demo
from apps.feedback.services import Report, issue_api_key, submit_report
from apps.outbox import services as outbox
from apps.owners.models import Extension
from apps.policy.models import Region
from apps.tickets.models import Ticket
from apps.tickets.services import Actor, find_or_create_contact
from apps.voice.models import Call
from tests.browser.test_accessibility import audit
from tests.browser.test_chat_widget import PANEL
from tests.browser.test_widget_hours import SATURDAY
from tests.browser.test_widget_hours import saturday_desk as saturday_desk  # a fixture
from tests.browser.test_widget_states import WIDTHS, agent_takes, launcher_on_screen, panel_fits, start_chat

pytestmark = pytest.mark.django_db(transaction=True)

TUESDAY = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def showcase(now: datetime = TUESDAY) -> dict[str, Ticket]:
    """The demo data and a ticket of each channel (a Swedish email, feedback, voicemail; one forwarded to its
    extension's owner), received in the hours before ``now``. Also run on a development database to look at."""
    seed_demo()
    agent = get_user_model().objects.get(username="agent_sv")
    europe = Region.objects.get(slug="europe")
    ada = find_or_create_contact(email="ada.lind@example.com", name="Ada Lind", language="sv", region=europe)
    tom = find_or_create_contact(email="tom.berg@example.com", name="Tom Berg", language="sv", region=europe)
    tickets = {}
    with time_machine.travel(now - timedelta(hours=3), tick=False):
        email = actions.open_ticket(
            channel="email", contact=ada, external_ref="<showcase-1@example.com>",
            subject="Programmet startar inte efter uppdateringen till version 12.3",
            body="Hej!\n\nEfter gårdagens uppdatering startar programmet inte längre. Det visar en vit ruta och "
                 "stängs sedan. Jag har provat att starta om datorn.\n\nMvh Ada")
        actions.assign_ticket(ticket=email, assignee=agent)
        tickets["email"] = email
    with time_machine.travel(now - timedelta(hours=2), tick=False):
        actions.add_message(ticket=email, direction="outbound", author_user=agent,
                            body="Hej Ada! Tack för ditt meddelande. Kan du skicka loggfilen från "
                                 "C:\\Users\\ada\\AppData\\Local\\AcmePlanner\\logs\\planner-2026-12-07.log?")
        actions.add_message(ticket=email, direction="note", author_user=agent,
                            body="Troligen samma fel som i 12.3-utgåvan: grafikdrivrutinen.")
    with time_machine.travel(now - timedelta(hours=1), tick=False):
        actions.add_message(ticket=email, direction="inbound", author_contact=ada,
                            body="Här är den! Felet kom igen i morse.")
        key, _raw = issue_api_key(name="Acme Planner iOS", region=europe)
        tickets["feedback"] = submit_report(api_key=key, report=Report(
            user_email="tom.berg@example.com", language="sv", product="acme-stairs", app_version="5.1 (iOS 18.2)",
            message="Trappan ritas med fel antal steg när våningshöjden är 2 700 mm.\nSkärmdump bifogad.",
            report_id="r-1"))
        voice = actions.open_ticket(channel="voice", contact=tom, subject="", body="", external_ref="CA" + "5" * 32,
                                    language="sv", region=europe)
        Call.objects.create(sid="CA" + "5" * 32, from_number="+46701234567", to_number="+46855500001",
                            region=europe, language="sv", state=Call.State.VOICEMAIL, ticket=voice,
                            queue_seconds=95, duration_seconds=48,
                            transcription="Hej, det är Tom. Ring mig om licensen, tack.")
        tickets["voice"] = voice
        forwarded = actions.open_ticket(
            channel="email", contact=tom, external_ref="<showcase-2@example.com>",
            subject="Räcket saknas på trappan i ritningen", body="Räcket försvinner när jag byter trappmodell.")
        actions.triage_ticket(ticket=forwarded, scope="extension", category="bug",
                              extension=Extension.objects.get(slug="acme-stairs"), actor=Actor(user=agent))
        tickets["forwarded"] = forwarded
        actions.open_ticket(channel="email", contact=tom, external_ref="<showcase-3@example.com>",
                            subject="Loggfil/" + "a" * 90 + ".log", body="En lång rad utan mellanslag.")
    return tickets


@pytest.fixture
def showcase_desk(transactional_db, settings, monkeypatch):
    """The showcase data, written before daphne and Playwright start; the desk's clock on ``TUESDAY``."""
    from tests.browser.conftest import desk_env, serve

    monkeypatch.setattr(outbox, "enqueue_on_commit", lambda *args: None)     # no mail or Jira call leaves
    tickets = showcase()
    yield from ((tickets, url) for url in serve(["tests.browser.frozen_clock", TUESDAY.isoformat()],
                                                desk_env(settings.REDIS_URL)))


class Screens:
    """Pages of one width: each screen is checked and saved as ``screen-<name>-<size>.png``."""

    def __init__(self, browser, base: str, size: str, artifacts, clock: datetime = TUESDAY):
        self.browser, self.base, self.size, self.artifacts, self.clock = browser, base, size, artifacts, clock
        self.seen: list[str] = []

    def page(self, locale: str = "sv-SE", zone: str = "Europe/Stockholm"):
        phone = self.size == "phone"
        context = self.browser.new_context(locale=locale, timezone_id=zone, viewport=WIDTHS[self.size],
                                           is_mobile=phone, has_touch=phone, device_scale_factor=2 if phone else 1)
        context.clock.install(time=self.clock)       # the browser's clock = the desk's: countdowns as on the desk
        return context.new_page()

    def sign_in(self, username: str, then: str):
        page = self.page()
        page.goto(f"{self.base}/accounts/login/?next={then}")
        page.fill("#id_username", username)
        page.fill("#id_password", DEMO_PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"**{then}")
        return page

    def shot(self, page, name: str, *, widget: bool = False) -> None:
        page.screenshot(path=str(self.artifacts / f"screen-{name}-{self.size}.png"), full_page=not widget)
        width = page.viewport_size["width"]
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"{name} ({self.size}) scrolls sideways: {scroll} px on a {width} px screen"
        assert page.locator("link[rel=icon]").count() >= 1 or widget, f"{name}: no favicon"
        if widget:
            panel_fits(page) if page.locator(f"{PANEL} #sd-panel:not([hidden])").count() else launcher_on_screen(page)
        audit(page, f"{name} ({self.size})")
        self.seen.append(name)


def nav_leads_back_to_the_console(page) -> None:
    assert page.locator("header nav a[href='/console/']").count() == 1


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_every_screen_fits_its_width_and_is_saved_for_review(showcase_desk, browser, artifacts, size):
    tickets, base = showcase_desk
    screens = Screens(browser, base, size, artifacts)

    visitor = screens.page()
    visitor.goto(f"{base}/widget/demo/")
    visitor.wait_for_selector(f"{PANEL} .launcher")
    screens.shot(visitor, "widget-launcher", widget=True)
    visitor.click(f"{PANEL} .launcher")
    visitor.wait_for_selector(f"{PANEL} #sd-email-form")                  # nobody online yet
    screens.shot(visitor, "widget-offline", widget=True)

    login = screens.page()
    login.goto(f"{base}/accounts/login/")
    screens.shot(login, "login")

    agent = screens.sign_in("agent_sv", "/console/")
    agent.wait_for_selector("#live-status.on", timeout=10_000)
    nav_leads_back_to_the_console(agent)
    screens.shot(agent, "console-home")
    agent.click("#view-mine")
    agent.wait_for_url("**/console/?view=mine")
    screens.shot(agent, "console-view-mine")

    visitor.reload()
    visitor.wait_for_selector(f"{PANEL} #sd-prechat")
    screens.shot(visitor, "widget-prechat", widget=True)
    start_chat(visitor)
    visitor.wait_for_selector(f"{PANEL} #sd-email-offer:not([hidden])")
    screens.shot(visitor, "widget-waiting", widget=True)
    agent.goto(f"{base}/console/")
    agent.wait_for_selector("#offers .offer button", timeout=10_000)
    screens.shot(agent, "console-offer")
    agent_takes(agent, visitor)
    agent.fill("#reply-body", "Hej Ada! Jag heter Sara. Vad kan jag hjälpa till med?")
    agent.press("#reply-body", "Enter")
    visitor.wait_for_selector(f"{PANEL} li.msg.agent[data-seq='1']")
    visitor.fill(f"{PANEL} #sd-composer textarea", "Hej! Programmet startar inte efter uppdateringen.")
    visitor.press(f"{PANEL} #sd-composer textarea", "Enter")
    agent.wait_for_selector("#thread li.msg[data-seq='2']")
    screens.shot(visitor, "widget-chatting", widget=True)
    screens.shot(agent, "console-ticket-chat")
    agent.click("#chat-end")
    visitor.wait_for_selector(f"{PANEL} #sd-rate")
    screens.shot(visitor, "widget-ended", widget=True)
    visitor.fill(f"{PANEL} #sd-rate textarea", "Snabbt och vänligt, tack!")
    visitor.click(f"{PANEL} #sd-rate button[data-rating=good]")
    visitor.wait_for_selector(f"{PANEL} #sd-rated")
    screens.shot(visitor, "widget-rated", widget=True)

    for channel in ("email", "feedback", "voice"):
        agent.goto(f"{base}/console/tickets/{tickets[channel].reference}/")
        nav_leads_back_to_the_console(agent)
        screens.shot(agent, f"console-ticket-{channel}")
    agent.goto(f"{base}/console/search/?q=programmet")
    agent.wait_for_selector("#results")
    screens.shot(agent, "console-search")
    agent.click("#profile-link")
    agent.wait_for_url("**/console/profile/")
    nav_leads_back_to_the_console(agent)
    screens.shot(agent, "console-profile")

    manager = screens.sign_in("manager", "/console/manager/")
    screens.shot(manager, "console-manager")
    for name, path in (("reports-sla", "/reports/sla/"), ("reports-staffing", "/reports/staffing/"),
                       ("console-outbox", "/console/outbox/")):
        manager.goto(base + path)
        nav_leads_back_to_the_console(manager)
        screens.shot(manager, name)

    owner = screens.sign_in("acme_admin1", "/owners/")
    screens.shot(owner, "owner-portal")
    assert owner.eval_on_selector("#owner-tickets td.subject", "td => td.offsetWidth") >= 150   # not a word a line
    owner.click(f"text={tickets['forwarded'].reference}")
    owner.wait_for_selector("#not-ours")
    screens.shot(owner, "owner-ticket")
    owner.goto(f"{base}/owners/")
    owner.click("#reports-link")
    owner.wait_for_selector("#owner-reports")
    screens.shot(owner, "owner-reports")

    assert len(screens.seen) == 24


@pytest.mark.parametrize("size", ["desktop", "phone"])
def test_the_closed_widget_is_saved_for_review(saturday_desk, browser, artifacts, size):
    screens = Screens(browser, saturday_desk, size, artifacts, clock=datetime.fromisoformat(SATURDAY))
    visitor = screens.page()
    visitor.goto(f"{saturday_desk}/widget/demo/")
    visitor.click(f"{PANEL} .launcher")
    visitor.wait_for_selector(f"{PANEL} #sd-email-form #sd-closed")
    screens.shot(visitor, "widget-closed", widget=True)
