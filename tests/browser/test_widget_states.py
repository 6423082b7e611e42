"""Every state of the widget, on a phone (390 px) and on a desktop (1280 px), looks right and passes axe-core.

One visitor goes through all of them: nobody online (the offline form), the pre-chat form,
waiting (with the offer to be answered by email), moved to email, a new chat, an agent
joined, ended by the agent, rated with a comment, another new chat ended by the visitor.
Each state is saved as test-artifacts/widget-<state>-<width>.png. Closed hours are in
``test_the_closed_widget_is_clean_at_both_widths`` (a frozen Saturday).
"""

import pytest

from apps.chat.models import Conversation
from apps.routing.models import Queue
from apps.tickets.models import Ticket
from tests.browser.conftest import chat_panel_ready, in_another_thread
from tests.browser.test_accessibility import audit
from tests.browser.test_chat_widget import PANEL, agent_console
from tests.browser.test_chat_widget import chat_desk as chat_desk  # a fixture
from tests.browser.test_widget_hours import saturday_desk as saturday_desk  # a fixture

pytestmark = pytest.mark.django_db(transaction=True)

WIDTHS = {"phone": {"width": 390, "height": 844}, "desktop": {"width": 1280, "height": 800}}


def visitor_page(browser, base, size: str, locale="sv-SE", zone="Europe/Stockholm"):
    viewport = WIDTHS[size]
    phone = size == "phone"
    context = browser.new_context(locale=locale, timezone_id=zone, viewport=viewport, is_mobile=phone,
                                  has_touch=phone, device_scale_factor=2 if phone else 1)
    page = context.new_page()
    page.goto(f"{base}/widget/demo/")
    page.wait_for_selector(f"{PANEL} .launcher")
    return page


def launcher_on_screen(page):
    """The page is no wider than the screen and the chat button is inside it (a long line once pushed it out)."""
    width = page.viewport_size["width"]
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box = page.locator(f"{PANEL} .launcher").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width


def panel_fits(page):
    """The panel is inside the screen, and nothing in it overlaps the buttons under the thread."""
    size = page.viewport_size
    box = page.locator(f"{PANEL} #sd-panel").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"] and box["y"] >= 0
    assert box["y"] + box["height"] <= size["height"]


def shows(page, name: str, size: str, artifacts, screen: str):
    panel_fits(page)
    page.screenshot(path=str(artifacts / f"widget-{name}-{size}.png"))
    audit(page, f"{screen} ({size})")


def apart(page, first: str, second: str):
    a, b = page.locator(f"{PANEL} {first}").bounding_box(), page.locator(f"{PANEL} {second}").bounding_box()
    assert a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"], f"{first} overlaps {second}"


def start_chat(visitor, name="Ada Lind", email="ada@example.com"):
    visitor.wait_for_selector(f"{PANEL} #sd-prechat")
    visitor.fill(f"{PANEL} input[name=name]", name)
    visitor.fill(f"{PANEL} input[name=email]", email)
    visitor.click(f"{PANEL} #sd-prechat button[type=submit]")
    visitor.wait_for_selector(f"{PANEL} #sd-composer")


def agent_takes(agent, visitor):
    agent.wait_for_selector("#offers .offer button", timeout=10_000).click()
    chat_panel_ready(agent)
    visitor.wait_for_function(
        f"document.querySelector('{PANEL}').shadowRoot.querySelector('.agent').textContent.includes('Sara Berg')")


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_every_state_of_the_widget_is_clean_at_phone_and_desktop_width(chat_desk, desk_server, browser, artifacts,
                                                                        size):
    visitor = visitor_page(browser, desk_server, size)
    launcher_on_screen(visitor)
    visitor.click(f"{PANEL} .launcher")
    visitor.wait_for_selector(f"{PANEL} #sd-email-form")           # nobody online
    shows(visitor, "offline", size, artifacts, "the offline form")

    agent = agent_console(browser, desk_server)
    visitor.reload()
    visitor.wait_for_selector(f"{PANEL} #sd-prechat")
    launcher_on_screen(visitor)
    shows(visitor, "prechat", size, artifacts, "the pre-chat form")

    # Waiting, with no estimate: the offer to be answered by email comes at once, beside the reason.
    start_chat(visitor)
    visitor.wait_for_selector(f"{PANEL} #sd-email-offer:not([hidden])")
    assert "Vi kan inte uppskatta väntetiden just nu." in visitor.text_content(f"{PANEL} .queue")
    assert visitor.text_content(f"{PANEL} #sd-email-offer p") == (
        "Ingen är ledig att svara än. Vill du hellre få vårt svar via e-post?")
    shows(visitor, "waiting", size, artifacts, "waiting with the email offer")

    visitor.click(f"{PANEL} #sd-email-instead")
    moved = visitor.wait_for_selector(f"{PANEL} #sd-ended.moved").text_content()
    ticket = in_another_thread(lambda: Ticket.objects.select_related("queue", "chat").get())
    assert moved == (f"Klart: vi svarar på ärende {ticket.reference} via e-post till ada@example.com. "
                     "Du kan stänga fönstret.")
    assert (ticket.chat.ended_by, ticket.queue.kind) == ("email", Queue.Kind.ASYNC)
    assert visitor.locator(f"{PANEL} #sd-rate").count() == 0 and not visitor.is_visible(f"{PANEL} #sd-composer")
    assert not visitor.is_visible(f"{PANEL} #sd-email-offer")
    shows(visitor, "moved-to-email", size, artifacts, "moved to email")
    agent.goto(f"{desk_server}/console/tickets/{ticket.reference}/")
    assert "ada@example.com" in agent.text_content("#moved-to-email")
    agent.screenshot(path=str(artifacts / f"console-chat-moved-to-email-{size}.png"), full_page=True)
    agent.goto(f"{desk_server}/console/")

    # A new chat: an agent joins, writes, and ends it.
    visitor.click(f"{PANEL} #sd-new-chat")
    start_chat(visitor)
    agent_takes(agent, visitor)
    assert not visitor.is_visible(f"{PANEL} #sd-email-offer")
    agent.fill("#reply-body", "Hej Ada! Vad kan jag hjälpa till med? " + "En lång rad utan slut " * 8)
    agent.press("#reply-body", "Enter")
    visitor.wait_for_selector(f"{PANEL} li.msg.agent[data-seq='1']")
    shows(visitor, "agent-joined", size, artifacts, "with an agent")

    agent.click("#chat-end")
    visitor.wait_for_selector(f"{PANEL} #sd-rate")
    assert not visitor.is_visible(f"{PANEL} #sd-composer")
    apart(visitor, "#sd-rate button[data-rating=bad]", "#sd-new-chat")
    apart(visitor, "#sd-rate textarea", "#sd-rate button[data-rating=good]")
    assert visitor.locator(f"{PANEL} #sd-rate textarea").bounding_box()["height"] >= 40
    assert visitor.locator(f"{PANEL} li.msg.agent .body").bounding_box()["height"] > 0
    shows(visitor, "ended-by-agent", size, artifacts, "ended by the agent")

    visitor.fill(f"{PANEL} #sd-rate textarea", "Snabbt och vänligt, tack!")
    visitor.click(f"{PANEL} #sd-rate button[data-rating=good]")
    visitor.wait_for_selector(f"{PANEL} #sd-rated")
    shows(visitor, "rated", size, artifacts, "rated")
    rated = in_another_thread(lambda: Conversation.objects.filter(rating="good").get())
    assert rated.rating_comment == "Snabbt och vänligt, tack!"

    # Another new chat, ended by the visitor.
    visitor.click(f"{PANEL} #sd-new-chat")
    start_chat(visitor)
    agent_takes(agent, visitor)
    visitor.fill(f"{PANEL} #sd-composer textarea", "Tack, det löste sig.")
    visitor.press(f"{PANEL} #sd-composer textarea", "Enter")
    visitor.wait_for_selector(f"{PANEL} li.msg.visitor[data-seq='1']")
    visitor.click(f"{PANEL} #sd-end")
    visitor.wait_for_selector(f"{PANEL} #sd-ended")
    assert visitor.locator(f"{PANEL} li.msg[data-state=pending]").count() == 0     # no "Sending…" left
    assert not visitor.is_visible(f"{PANEL} #sd-composer")
    shows(visitor, "ended-by-visitor", size, artifacts, "ended by the visitor")
    assert in_another_thread(lambda: Conversation.objects.filter(ended_by="visitor").count()) == 1


@pytest.mark.parametrize("size", ["phone", "desktop"])
def test_the_closed_widget_is_clean_at_both_widths(saturday_desk, browser, artifacts, size):
    visitor = visitor_page(browser, saturday_desk, size)
    launcher_on_screen(visitor)
    visitor.click(f"{PANEL} .launcher")
    visitor.wait_for_selector(f"{PANEL} #sd-email-form #sd-closed")
    shows(visitor, "closed", size, artifacts, "closed hours")
