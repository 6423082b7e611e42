"""axe-core (the engine of the browsers' own accessibility audits) on the widget and the console.

Every screen a visitor or an agent works in is audited in Chromium against the WCAG 2.1
A and AA rules, in the open shadow DOM of the widget too: no violation may remain.
"""

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from tests.browser.conftest import in_another_thread
from tests.browser.test_chat_widget import PANEL, agent_console, chat_with_agent
from tests.browser.test_chat_widget import chat_desk as chat_desk  # a fixture

pytestmark = pytest.mark.django_db(transaction=True)

WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
        "resultTypes": ["violations"]}


def audit(page, screen: str) -> None:
    found = Axe().run(page, options=WCAG).response["violations"]
    assert not found, f"{screen}: " + "; ".join(
        f"{v['id']} ({v['impact']}) at {[node['html'][:120] for node in v['nodes']][:3]}" for v in found)


def widget(browser, base, locale: str, shows: str):
    page = browser.new_context(locale=locale).new_page()
    page.goto(f"{base}/widget/demo/")
    page.click(f"{PANEL} .launcher")
    page.wait_for_selector(f"{PANEL} {shows}")
    return page


def test_every_screen_of_the_widget_and_the_console_passes_the_audit(chat_desk, desk_server, browser):
    closed = browser.new_context(locale="sv-SE").new_page()
    closed.goto(f"{desk_server}/widget/demo/")
    closed.wait_for_selector(f"{PANEL} .launcher")
    audit(closed, "the demo page with the closed widget")
    # Nobody online: the widget shows the offline form as soon as it opens.
    audit(widget(browser, desk_server, "sv-SE", "#sd-email-form"), "the offline form (nobody online)")
    audit(widget(browser, desk_server, "zh-CN", "#sd-email-form"), "the email form (no chat in Chinese)")

    agent = agent_console(browser, desk_server)
    audit(agent, "the console's queue")
    audit(widget(browser, desk_server, "sv-SE", "#sd-prechat"), "the pre-chat form")
    visitor = chat_with_agent(browser, agent, desk_server)
    visitor.fill(f"{PANEL} #sd-composer textarea", "Hej! Programmet startar inte.")
    visitor.press(f"{PANEL} #sd-composer textarea", "Enter")
    agent.wait_for_selector("#thread li.msg[data-seq='1']")
    visitor.wait_for_selector(f"{PANEL} li.msg[data-seq='1']")
    audit(visitor, "the widget in a chat")
    audit(agent, "the console's ticket page with its chat")
    visitor.click(f"{PANEL} #sd-end")
    visitor.wait_for_selector(f"{PANEL} #sd-ended")
    audit(visitor, "the widget after the chat ended")


def test_the_sign_in_page_and_the_managers_screens_pass_the_audit(chat_desk, desk_server, browser):
    def manager():
        user = get_user_model().objects.create_user("manager", password="pw-manager", first_name="Maja")
        make_agent(user=user, languages=["sv", "en"], channels=["chat", "email"], manager=True)
    in_another_thread(manager)
    page = browser.new_context(locale="sv-SE").new_page()
    page.goto(f"{desk_server}/accounts/login/?next=/console/manager/")
    audit(page, "the sign-in page")
    page.fill("#id_username", "manager")
    page.fill("#id_password", "pw-manager")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/manager/")
    audit(page, "the manager's view")
    page.goto(f"{desk_server}/reports/sla/")
    audit(page, "the SLA report")


def test_a_visitor_chats_with_the_keyboard_alone(chat_desk, desk_server, browser):
    agent = agent_console(browser, desk_server)
    visitor = browser.new_context(locale="sv-SE").new_page()
    visitor.goto(f"{desk_server}/widget/demo/")
    visitor.wait_for_selector(f"{PANEL} .launcher")

    def focused() -> str:
        return visitor.evaluate("() => { const e = document.querySelector('#supportdesk-chat').shadowRoot"
                                ".activeElement; return e ? (e.name || e.id || e.className) : ''; }")

    for _ in range(20):                     # Tab through the page until the launcher has the focus
        visitor.keyboard.press("Tab")
        if focused() == "launcher":
            break
    assert focused() == "launcher"
    visitor.keyboard.press("Enter")
    # The panel asks whether chat is open, then shows the pre-chat form with the focus on its first field.
    visitor.wait_for_function("() => document.querySelector('#supportdesk-chat').shadowRoot"
                              ".activeElement?.name === 'language'")
    visitor.keyboard.press("Tab")
    visitor.keyboard.type("Ada Lind")
    visitor.keyboard.press("Tab")
    visitor.keyboard.type("ada@example.com")
    visitor.keyboard.press("Tab")           # the extension: the core product
    visitor.keyboard.press("Tab")
    visitor.keyboard.press("Enter")         # start the chat
    visitor.wait_for_selector(f"{PANEL} #sd-composer")
    agent.wait_for_selector("#offers .offer button", timeout=10_000).click()
    agent.wait_for_url("**/console/tickets/*/")
    visitor.wait_for_function(f"document.querySelector('{PANEL}').shadowRoot.querySelector('.agent')"
                              ".textContent.includes('Sara Berg')")
    assert focused() == "message"           # the composer has the focus once the chat starts
    visitor.keyboard.type("Hej, bara tangentbordet här.")
    visitor.keyboard.press("Enter")
    agent.wait_for_selector("#thread li.msg[data-seq='1']")
    assert agent.text_content("#thread li.msg[data-seq='1'] .body") == "Hej, bara tangentbordet här."
    visitor.keyboard.press("Escape")        # closes the panel, and the focus goes back to the launcher
    assert visitor.locator(f"{PANEL} #sd-panel").is_hidden() and focused() == "launcher"
