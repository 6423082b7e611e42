"""A visitor chats from the demo page with an agent in the console, through a real network cut.

Both sides must end with the same ordered transcript, and the database must hold exactly
that transcript once. Files go both ways and open on either side. A Chinese
visitor is told (in Chinese) that chat is not offered and opens an email ticket instead.
"""

import zoneinfo
from datetime import time

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.chat.models import Conversation, Entry
from apps.policy.models import ServiceWindow
from apps.tickets.models import CannedResponse, Ticket
from tests.browser.conftest import chat_panel_ready, in_another_thread

pytestmark = pytest.mark.django_db(transaction=True)

PANEL = "#supportdesk-chat"


@pytest.fixture
def chat_desk(regions, queues):
    """A Swedish chat agent, and the chat window open all week so the test does not depend on the day."""
    ServiceWindow.objects.filter(name="24x5").update(open_weekday=0, open_time=time(0, 0), open_tz="UTC",
                                                     close_weekday=6, close_time=time(23, 59), close_tz="UTC")
    agent = get_user_model().objects.create_user("agent_sv", password="pw-agent-sv", first_name="Sara",
                                                 last_name="Berg")
    make_agent(user=agent, languages=["sv"], channels=["chat", "email"], time_zone="Europe/Stockholm")
    return agent


def agent_console(browser, base, password="pw-agent-sv"):
    page = browser.new_context(locale="sv-SE").new_page()
    page.goto(f"{base}/accounts/login/?next=/console/")
    page.fill("#id_username", "agent_sv")
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    page.wait_for_selector("#live-status.on", timeout=10_000)
    return page


def widget_lines(page) -> list[tuple[int, str]]:
    return page.eval_on_selector_all(
        f"{PANEL} li.msg[data-seq]", "els => els.map(e => [+e.dataset.seq, e.querySelector('.body').textContent])")


def console_lines(page) -> list[tuple[int, str]]:
    return page.eval_on_selector_all(
        "#thread li.msg[data-seq]", "els => els.map(e => [+e.dataset.seq, e.querySelector('.body').textContent])")


def visitor_asks(browser, base, name="Ada Lind", email="ada@example.com"):
    """A Swedish visitor opens the widget on the demo page at ``base`` and sends the pre-chat form."""
    visitor = browser.new_context(locale="sv-SE").new_page()
    visitor.goto(f"{base}/widget/demo/")
    visitor.click(f"{PANEL} .launcher")
    assert visitor.locator(f"{PANEL} select[name=language]").input_value() == "sv"   # from the browser
    visitor.fill(f"{PANEL} input[name=name]", name)
    visitor.fill(f"{PANEL} input[name=email]", email)
    visitor.click(f"{PANEL} #sd-prechat button[type=submit]")
    return visitor


def chat_with_agent(browser, agent, base):
    """A Swedish visitor opens a chat on the demo page at ``base``; the agent accepts it."""
    visitor = visitor_asks(browser, base)
    visitor.wait_for_selector(f"{PANEL} #sd-composer")

    agent.wait_for_selector("#offers .offer button", timeout=10_000).click()      # accept the offer
    agent.wait_for_url("**/console/tickets/*/")
    chat_panel_ready(agent)
    visitor.wait_for_function(
        f"document.querySelector('{PANEL}').shadowRoot.querySelector('.agent').textContent.includes('Sara Berg')")
    return visitor


def test_visitor_and_agent_keep_one_ordered_transcript_through_a_network_cut(
        chat_desk, desk_server, cuttable, browser, artifacts):
    agent = agent_console(browser, desk_server)
    # The visitor's traffic goes through the proxy.
    visitor = chat_with_agent(browser, agent, f"http://127.0.0.1:{cuttable.port}")

    def visitor_says(text):
        visitor.fill(f"{PANEL} #sd-composer textarea", text)
        visitor.press(f"{PANEL} #sd-composer textarea", "Enter")

    def agent_says(text):
        agent.fill("#reply-body", text)
        agent.press("#reply-body", "Enter")

    visitor_says("Hej! Programmet startar inte.")
    agent.wait_for_selector("#thread li.msg[data-seq='1']")
    agent.fill("#reply-body", "H")     # the visitor sees the agent typing
    agent.type("#reply-body", "ej")
    visitor.wait_for_function(
        f"document.querySelector('{PANEL}').shadowRoot.querySelector('.typing').textContent.length > 0")
    agent.fill("#reply-body", "")
    agent_says("Hej Ada! Vilken version har du?")
    visitor.wait_for_selector(f"{PANEL} li.msg.agent[data-seq='2']")
    visitor.wait_for_selector(f"{PANEL} li.msg.visitor[data-seq='1'][data-state='read']")   # the agent read it

    # The visitor's network drops: both sides keep writing.
    cuttable.cut()
    visitor.wait_for_function(
        f"document.querySelector('{PANEL}').shadowRoot.querySelector('.status').textContent.length > 0")
    visitor_says("Version 12.3, på Windows.")
    visitor_says("Hörs jag?")
    agent_says("Tack, jag kollar.")
    agent_says("Prova att starta om datorn.")
    agent.wait_for_selector("#thread li.msg[data-seq='4']")
    visitor.screenshot(path=str(artifacts / "chat-widget-offline.png"))
    assert visitor.locator(f"{PANEL} li.msg.visitor[data-state='pending']").count() == 2

    cuttable.restore()
    visitor.wait_for_selector(f"{PANEL} li.msg[data-seq='6']", timeout=15_000)
    visitor.wait_for_function(
        f"document.querySelector('{PANEL}').shadowRoot.querySelectorAll('li.msg[data-state=pending]').length === 0")
    agent.wait_for_selector("#thread li.msg[data-seq='6']", timeout=10_000)
    agent_says("Fungerar det nu?")
    visitor.wait_for_selector(f"{PANEL} li.msg[data-seq='7']")
    agent.wait_for_selector("#thread li.msg[data-seq='7'][data-delivery]")
    # The agent's own lines say who wrote them and when they were stored, like the visitor's.
    # …in the agent's zone (Europe/Stockholm; this browser runs in UTC) and language (sv: 2026-03-02 10:15).
    stored_at = in_another_thread(lambda: Entry.objects.get(
        conversation__ticket__channel="chat", seq=7).message.created_at)
    local = stored_at.astimezone(zoneinfo.ZoneInfo("Europe/Stockholm")).strftime("%Y-%m-%d %H:%M")
    assert agent.locator("#thread li.msg[data-seq='7'] .meta").text_content() == f"Sara Berg · {local}"

    seen_by_visitor, seen_by_agent = widget_lines(visitor), console_lines(agent)
    assert [seq for seq, _ in seen_by_visitor] == list(range(1, 8))
    assert seen_by_visitor == seen_by_agent
    stored = in_another_thread(lambda: list(
        Entry.objects.filter(conversation__ticket__channel="chat").order_by("seq")
        .values_list("seq", "message__body_text")))
    assert [tuple(line) for line in seen_by_visitor] == stored
    assert {body for _, body in stored} >= {"Version 12.3, på Windows.", "Hörs jag?", "Prova att starta om datorn."}
    visitor.screenshot(path=str(artifacts / "chat-widget.png"))
    agent.screenshot(path=str(artifacts / "chat-console.png"), full_page=True)

    # Ending keeps the transcript on the ticket.
    visitor.click(f"{PANEL} #sd-end")
    visitor.wait_for_selector(f"{PANEL} #sd-ended")
    # The ended chat offers no composer to type into (a line there would wait for ever).
    assert not visitor.is_visible(f"{PANEL} #sd-composer")
    visitor.screenshot(path=str(artifacts / "chat-widget-ended.png"))
    agent.wait_for_function("document.getElementById('destination-live') === null")     # no longer offered
    assert agent.is_checked("#destination-email")
    conversation = in_another_thread(lambda: Conversation.objects.select_related("ticket").get())
    assert conversation.state == "ended"
    chat_lines = in_another_thread(
        lambda: conversation.ticket.messages.filter(direction__in=["inbound", "outbound"]).count())
    assert chat_lines == 7


def test_files_go_both_ways_and_open_from_the_console_and_the_widget(chat_desk, desk_server, browser, artifacts):
    agent = agent_console(browser, desk_server)
    visitor = chat_with_agent(browser, agent, desk_server)
    # The file button is the widget's, in the visitor's language; the browser's ("Choose File") is not shown.
    assert visitor.inner_text(f"{PANEL} #sd-composer label.attach") == "Bifoga en fil"
    assert visitor.eval_on_selector(f"{PANEL} #sd-composer input[type=file]",
                                    "i => i.getBoundingClientRect().width") <= 1
    widths = visitor.eval_on_selector_all(f"{PANEL} #sd-composer textarea, {PANEL} #sd-composer label.attach",
                                          "els => els.map(e => e.getBoundingClientRect().width)")
    assert widths[0] > 200 and widths[1] > widths[0]        # on its own line, not squeezing the text box
    visitor.set_input_files(f"{PANEL} input[type=file]",
                            files=[{"name": "fel.txt", "mimeType": "text/plain", "buffer": b"Fel 0x80070005"}])

    link = agent.wait_for_selector("#thread li.msg[data-seq='1'] .attachment a", timeout=10_000)
    assert link.text_content() == "fel.txt" and link.query_selector("svg.clip")     # drawn, not an emoji
    assert agent.text_content("#thread li.msg[data-seq='1'] .body") == ""          # the name once, as the link
    href = link.evaluate("a => a.href")
    download = agent.request.get(href)            # with the agent's own session, as a click would
    assert download.status == 200 and download.body() == b"Fel 0x80070005"
    assert download.headers["content-disposition"].startswith("attachment")
    visitor_link = visitor.wait_for_selector(f"{PANEL} li.msg[data-seq='1'] a.file")
    assert visitor_link.text_content() == "fel.txt" and visitor_link.query_selector("svg.clip")
    assert visitor.request.get(visitor_link.evaluate("a => a.href")).body() == b"Fel 0x80070005"

    # And back: the agent sends a file from the chat panel.
    agent.set_input_files("#reply-files", files=[
        {"name": "guide.pdf", "mimeType": "application/pdf", "buffer": b"%PDF-1.7 guide"}])
    agent.click("#send-reply")
    agent.wait_for_selector("#thread li.msg.outbound[data-seq='2'] .attachment a")
    sent = visitor.wait_for_selector(f"{PANEL} li.msg.agent[data-seq='2'] a.file", timeout=10_000)
    assert sent.text_content() == "guide.pdf"
    assert visitor.text_content(f"{PANEL} li.msg.agent[data-seq='2'] .body") == "guide.pdf"     # the link alone
    assert agent.text_content("#thread li.msg[data-seq='2'] .body") == ""
    assert visitor.request.get(sent.evaluate("a => a.href")).body() == b"%PDF-1.7 guide"
    visitor.screenshot(path=str(artifacts / "chat-widget-attachments.png"))

    agent.reload()        # the page itself renders the same links
    links = agent.wait_for_selector("#thread .attachment a") and agent.query_selector_all("#thread .attachment a")
    assert [link.evaluate("a => a.href") for link in links][0] == href and len(links) == 2
    bodies = agent.eval_on_selector_all("#thread li.msg .body", "els => els.map(e => e.textContent.trim())")
    assert bodies == ["", ""]
    agent.screenshot(path=str(artifacts / "chat-console-attachment.png"), full_page=True)


def test_the_agent_answers_with_a_canned_response_in_the_chats_language(chat_desk, desk_server, browser):
    in_another_thread(lambda: CannedResponse.objects.create(
        title_en="Restart", body_en="Please restart the app.", title_sv="Starta om", body_sv="Starta om appen, tack."))
    agent = agent_console(browser, desk_server)
    visitor = chat_with_agent(browser, agent, desk_server)
    assert "widget/demo" in agent.get_attribute("#chat-page a", "href")     # where the visitor is chatting from

    agent.type("#reply-body", "/star")         # "/" at the start searches the canned responses
    agent.wait_for_selector("#canned-list [role=option][aria-selected=true]")
    agent.press("#reply-body", "Enter")
    assert agent.input_value("#reply-body") == "Starta om appen, tack."
    assert agent.evaluate("document.activeElement.id") == "reply-body"
    agent.press("#reply-body", "Enter")
    line = visitor.wait_for_selector(f"{PANEL} li.msg.agent[data-seq='1'] .body", timeout=10_000)
    assert line.text_content() == "Starta om appen, tack."


def test_a_chinese_visitor_is_told_in_chinese_and_gets_the_email_form(chat_desk, desk_server, browser, artifacts):
    page = browser.new_context(locale="zh-CN").new_page()
    page.goto(f"{desk_server}/widget/demo/?entry_point=widget-malaysia")
    page.click(f"{PANEL} .launcher")
    form = page.wait_for_selector(f"{PANEL} #sd-email-form")
    assert "在线聊天不提供中文服务" in form.inner_text()
    assert page.locator(f"{PANEL} select[name=language]").input_value() == "zh-hans"
    page.fill(f"{PANEL} input[name=name]", "李雷")
    page.fill(f"{PANEL} input[name=email]", "li@example.com")
    page.fill(f"{PANEL} textarea[name=message]", "软件启动时崩溃。")
    page.screenshot(path=str(artifacts / "chat-widget-zh.png"))
    page.click(f"{PANEL} #sd-email-form button[type=submit]")
    thanks = page.wait_for_selector(f"{PANEL} #sd-thanks").inner_text()
    ticket = in_another_thread(lambda: Ticket.objects.select_related("region").get())
    assert ticket.reference in thanks and "谢谢" in thanks
    assert (ticket.channel, ticket.language, ticket.region.slug) == ("email", "zh-hans", "malaysia")
    assert not in_another_thread(lambda: Conversation.objects.exists())


def test_a_server_restart_mid_chat_loses_and_doubles_nothing(chat_desk, restartable_desk, browser):
    base = restartable_desk.url
    agent = agent_console(browser, base)
    visitor = visitor_asks(browser, base)
    agent.wait_for_selector("#offers .offer button", timeout=10_000).click()
    chat_panel_ready(agent)

    visitor.fill(f"{PANEL} #sd-composer textarea", "Hej!")
    visitor.press(f"{PANEL} #sd-composer textarea", "Enter")
    agent.wait_for_selector("#thread li.msg[data-seq='1']")
    agent.fill("#reply-body", "Hej Ada!")
    agent.press("#reply-body", "Enter")
    visitor.wait_for_selector(f"{PANEL} li.msg[data-seq='2']")

    restartable_desk.stop()       # both sockets drop; both sides keep writing
    visitor.wait_for_function(
        f"document.querySelector('{PANEL}').shadowRoot.querySelector('.status').textContent.length > 0")
    visitor.fill(f"{PANEL} #sd-composer textarea", "Är ni kvar?")
    visitor.press(f"{PANEL} #sd-composer textarea", "Enter")
    agent.wait_for_selector("#live-status.off")
    agent.fill("#reply-body", "Vi startade om en server.")
    agent.press("#reply-body", "Enter")
    restartable_desk.start()

    visitor.wait_for_selector(f"{PANEL} li.msg[data-seq='4']", timeout=30_000)
    agent.wait_for_selector("#thread li.msg[data-seq='4']", timeout=30_000)
    seen_by_visitor, seen_by_agent = widget_lines(visitor), console_lines(agent)
    assert seen_by_visitor == seen_by_agent
    assert [seq for seq, _ in seen_by_visitor] == [1, 2, 3, 4]
    assert sorted(body for _, body in seen_by_visitor[2:]) == ["Vi startade om en server.", "Är ni kvar?"]
    stored = in_another_thread(lambda: list(Entry.objects.order_by("seq").values_list("seq", "message__body_text")))
    assert [tuple(line) for line in seen_by_visitor] == stored


HIDE = "() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => true}); }"
SHOW = ("() => { Object.defineProperty(document, 'hidden', {configurable: true, get: () => false}); "
        "document.dispatchEvent(new Event('visibilitychange')); }")


def test_a_console_in_the_background_counts_what_needs_the_agent_in_its_title(chat_desk, desk_server, browser):
    agent = agent_console(browser, desk_server)
    title = agent.title()
    agent.evaluate(HIDE)                    # the agent is on another tab
    visitor = visitor_asks(browser, desk_server)
    agent.wait_for_selector("#offers .offer button", timeout=10_000)
    assert agent.title() == f"(1) {title}"          # the offer
    agent.evaluate(SHOW)
    assert agent.title() == title

    agent.click("#offers .offer button")
    agent.wait_for_url("**/console/tickets/*/")
    chat_panel_ready(agent)
    ticket_title = agent.title()
    agent.evaluate(HIDE)
    for n, text in enumerate(["Hallå?", "Är någon där?"], start=1):
        visitor.fill(f"{PANEL} #sd-composer textarea", text)
        visitor.press(f"{PANEL} #sd-composer textarea", "Enter")
        agent.wait_for_selector(f"#thread li.msg[data-seq='{n}']")
        assert agent.title() == f"({n}) {ticket_title}"
    agent.evaluate(SHOW)
    assert agent.title() == ticket_title


def test_a_line_in_another_of_the_agents_chats_shows_as_a_link_until_it_is_opened(chat_desk, desk_server, browser,
                                                                                   artifacts):
    agent = agent_console(browser, desk_server)
    first = chat_with_agent(browser, agent, desk_server)
    first_ticket = agent.url.rstrip("/").rsplit("/", 1)[1]
    second = visitor_asks(browser, desk_server, name="Bo Ek", email="bo@example.com")
    agent.wait_for_selector("#offers .offer button", timeout=10_000).click()
    agent.wait_for_url(lambda url: first_ticket not in url and "/console/tickets/" in url)
    chat_panel_ready(agent)
    second.wait_for_selector(f"{PANEL} #sd-composer")

    for text in ["Hallå?", "Är du kvar?"]:
        first.fill(f"{PANEL} #sd-composer textarea", text)
        first.press(f"{PANEL} #sd-composer textarea", "Enter")
    alert = agent.wait_for_selector(f"#chat-alerts .chat-alert[data-ref='{first_ticket}']:has-text('(2)')")
    assert alert.text_content() == f"Nytt från Ada Lind i {first_ticket} (2)Är du kvar?"
    assert agent.locator("#thread li.msg").count() == 0           # nothing of it in the chat on screen
    agent.screenshot(path=str(artifacts / "console-chat-alert.png"))
    agent.click(f"#chat-alerts a[href='/console/tickets/{first_ticket}/']")
    agent.wait_for_selector("#thread li.msg >> text=Är du kvar?")
    assert agent.locator("#chat-alerts .chat-alert").count() == 0  # opened: the alert is gone


def test_a_visitor_in_another_tab_sees_the_agents_answers_counted_in_the_pages_title(chat_desk, desk_server,
                                                                                     browser):
    agent = agent_console(browser, desk_server)
    visitor = visitor_asks(browser, desk_server)
    title = visitor.title()
    visitor.evaluate(HIDE)                  # the visitor went to another tab while waiting
    agent.wait_for_selector("#offers .offer button", timeout=10_000).click()
    chat_panel_ready(agent)
    visitor.wait_for_function(f"document.title === '(1) {title}'")          # the agent joined
    agent.fill("#reply-body", "Hej Ada!")
    agent.press("#reply-body", "Enter")
    visitor.wait_for_function(f"document.title === '(2) {title}'")
    visitor.evaluate(SHOW)
    assert visitor.title() == title


def test_the_visitor_rates_the_chat_after_it_ends(chat_desk, desk_server, browser):
    agent = agent_console(browser, desk_server)
    visitor = chat_with_agent(browser, agent, desk_server)
    visitor.click(f"{PANEL} #sd-end")
    visitor.wait_for_selector(f"{PANEL} #sd-rate")
    assert visitor.text_content(f"{PANEL} #sd-rate-question") == "Hur var chatten?"
    visitor.fill(f"{PANEL} #sd-rate textarea", "Snabbt och vänligt.")
    visitor.click(f"{PANEL} #sd-rate button[data-rating=good]")
    assert visitor.wait_for_selector(f"{PANEL} #sd-rated").text_content() == "Tack för ditt betyg!"
    conversation = in_another_thread(lambda: Conversation.objects.get())
    assert (conversation.rating, conversation.rating_comment) == ("good", "Snabbt och vänligt.")
    visitor.reload()                         # rated once: the page, open again, does not ask again
    visitor.wait_for_selector(f"{PANEL} #sd-rated")
    assert visitor.locator(f"{PANEL} #sd-rate").count() == 0
