"""The ticket page's one composer in a real browser: where the text goes on a chat and on an email
ticket, the "/" canned search by keyboard, and the SLA countdowns under the browser's controlled clock.

The tickets are opened at a fixed instant (Wednesday 2 December 2026, 11:00 UTC); the page's
countdowns are computed from the due times the server wrote, against the browser's clock, which the
tests install and move (Playwright's clock), so nothing depends on the day the suite runs.
"""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.chat import services as chat
from apps.chat.models import Entry
from apps.desk import actions
from apps.mail.models import OutboundEmail
from apps.tickets import services as tickets
from apps.tickets.models import CannedResponse, Message
from tests.browser.conftest import in_another_thread

pytestmark = pytest.mark.django_db(transaction=True)

OPENED = datetime(2026, 12, 2, 11, 0, tzinfo=UTC)     # a Wednesday; chat and email open


@pytest.fixture
def agent_sv(regions, queues):
    agent = get_user_model().objects.create_user("agent_sv", password="pw-agent-sv", first_name="Sara",
                                                 last_name="Berg")
    make_agent(user=agent, languages=["sv"], channels=["chat", "email"], time_zone="UTC")
    return agent


@pytest.fixture
def contact_sv(regions, agent_sv):
    return tickets.find_or_create_contact(email="ada@example.com", name="Ada Lind", language="sv",
                                          region=regions["europe"])


@pytest.fixture
def chat_ticket(agent_sv):
    conversation = chat.start_conversation(language="sv", name="Ada Lind", email="ada@example.com", at=OPENED,
                                           check_availability=False)
    return actions.take_ticket(ticket=conversation.ticket, user=agent_sv) or conversation.ticket


@pytest.fixture
def email_ticket(contact_sv):
    return actions.open_ticket(channel="email", contact=contact_sv, subject="Appen kraschar", body="Hej.",
                               external_ref="<composer-1@example.com>", received_at=OPENED)


def signed_in(browser, base, *, clock_at: datetime | None = None):
    """The agent's console in English (the words the tests read), its clock installed when asked."""
    context = browser.new_context(locale="en-US", timezone_id="UTC")
    if clock_at is not None:
        context.clock.install(time=clock_at)
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next=/console/")
    page.fill("#id_username", "agent_sv")
    page.fill("#id_password", "pw-agent-sv")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    return page


def destinations(page) -> list[str]:
    return page.eval_on_selector_all("input[name=destination]", "els => els.map(e => e.value + (e.checked ? '*' : ''))")


@pytest.mark.redis(reason="the live line goes over the console socket; its push crosses the channel layer")
def test_a_chat_ticket_sends_live_by_email_or_as_a_note_from_one_composer(chat_ticket, desk_server, browser,
                                                                           artifacts):
    page = signed_in(browser, desk_server)
    page.goto(f"{desk_server}/console/tickets/{chat_ticket.reference}/")
    page.wait_for_selector("#live-status.on", timeout=10_000)
    assert destinations(page) == ["live*", "email", "note"]
    assert page.locator("#composer textarea").count() == 1 and page.locator("#chat-form").count() == 0
    assert page.inner_text("#send-reply") == "Send to the visitor"
    assert page.inner_text("#composer legend") == "Where the text goes"

    # Live: Enter sends the line over the socket; it is stored in the chat, not mailed.
    page.fill("#reply-body", "Hej Ada! Vilken version har du?")
    page.press("#reply-body", "Enter")
    page.wait_for_selector("#thread li.outbound[data-seq='1'][data-delivery='sent']", timeout=10_000)
    assert page.input_value("#reply-body") == ""
    live = in_another_thread(lambda: Message.objects.get(ticket=chat_ticket, direction="outbound"))
    assert in_another_thread(lambda: Entry.objects.filter(message=live).exists())
    page.screenshot(path=str(artifacts / "console-composer-chat.png"), full_page=True)

    # By email: Enter is a new line; the button posts it, and it is mailed, not chatted.
    page.check("#destination-email")
    assert page.inner_text("#send-reply") == "Send email"
    page.fill("#reply-body", "Sammanfattning:")
    page.press("#reply-body", "Enter")
    page.keyboard.type("starta om appen.")
    assert page.input_value("#reply-body") == "Sammanfattning:\nstarta om appen."
    page.click("#send-reply")
    page.wait_for_selector("#thread li.outbound:has-text('Sammanfattning')")
    mailed = in_another_thread(lambda: Message.objects.get(ticket=chat_ticket, body_text__startswith="Sammanfattning"))
    assert in_another_thread(lambda: OutboundEmail.objects.get(ticket_message=mailed).to_address) == "ada@example.com"
    assert not in_another_thread(lambda: Entry.objects.filter(message=mailed).exists())

    # An internal note stays in the desk.
    page.wait_for_selector("#destination-note")
    page.check("#destination-note")
    assert page.inner_text("#send-reply") == "Add internal note"
    page.fill("#reply-body", "Kunden kör 12.3")
    page.click("#send-reply")
    page.wait_for_selector("#thread li.note")
    note = in_another_thread(lambda: Message.objects.get(ticket=chat_ticket, direction="note"))
    assert note.body_text == "Kunden kör 12.3" and not note.shared_with_owner


def test_an_email_ticket_replies_by_email_with_a_file_and_offers_no_live_line(email_ticket, desk_server, browser):
    page = signed_in(browser, desk_server)
    page.goto(f"{desk_server}/console/tickets/{email_ticket.reference}/")
    assert destinations(page) == ["email*", "note"]
    assert page.inner_text("#send-reply") == "Send email"
    page.fill("#reply-body", "Hej Ada!")
    page.press("#reply-body", "Enter")              # a new line, not a send
    assert page.input_value("#reply-body") == "Hej Ada!\n"
    page.keyboard.type("Prova detta.")
    page.set_input_files("#reply-files", files=[{"name": "guide.pdf", "mimeType": "application/pdf",
                                                 "buffer": b"%PDF-1.7 guide"}])
    # Our button and the chosen file's name, in the console's language (not the browser's "No file chosen").
    assert page.inner_text("label.attach") == "Attach files" and page.inner_text("#reply-files-chosen") == "guide.pdf"
    assert page.eval_on_selector("#reply-files", "i => i.getBoundingClientRect().width") <= 1
    row = page.eval_on_selector_all("#reply-body, .composer-actions",
                                    "els => els.map(e => e.getBoundingClientRect().width)")
    assert row[0] == row[1] and row[0] > 400                  # the text area spans the composer, not a corner of it
    page.click("#send-reply")
    page.wait_for_selector("#thread li.outbound .attachment a")
    reply = in_another_thread(lambda: Message.objects.get(ticket=email_ticket, direction="outbound"))
    assert reply.body_text.splitlines() == ["Hej Ada!", "Prova detta."]     # a form sends CRLF
    assert in_another_thread(lambda: OutboundEmail.objects.filter(ticket_message=reply).count()) == 1
    assert in_another_thread(lambda: [a.filename for a in reply.attachments.all()]) == ["guide.pdf"]


def test_slash_opens_the_canned_responses_and_the_keyboard_chooses_one(email_ticket, desk_server, browser,
                                                                       artifacts):
    in_another_thread(lambda: [
        CannedResponse.objects.create(title_en="Logs", body_en="Send the logs of {reference}, please.",
                                      title_sv="Loggar", body_sv="Skicka loggarna för {reference}."),
        CannedResponse.objects.create(title_en="Restart", body_en="Please restart.",
                                      title_sv="Starta om", body_sv="Starta om appen, tack."),
        CannedResponse.objects.create(title_en="Thanks", body_en="Thank you!",
                                      title_sv="Tack", body_sv="Tack så mycket, {name}!"),
    ])
    page = signed_in(browser, desk_server)
    page.goto(f"{desk_server}/console/tickets/{email_ticket.reference}/")
    options = "#canned-list [role=option]"
    chosen = "document.querySelector('#canned-list [aria-selected=true] .canned-title').textContent"
    assert page.is_hidden("#canned-list")
    page.click("#reply-body")
    page.keyboard.type("/")
    page.wait_for_selector("#canned-list", state="visible")
    assert page.locator(options).count() == 3        # the ticket's language: the Swedish texts
    assert page.get_attribute("#reply-body", "aria-activedescendant") == "canned-0"
    page.keyboard.type("ta")                          # "Starta om" and "Tack"
    assert page.eval_on_selector_all(f"{options} .canned-title", "els => els.map(e => e.textContent)") == [
        "Starta om", "Tack"]
    assert page.evaluate(chosen) == "Starta om"
    page.keyboard.press("ArrowDown")
    assert page.evaluate(chosen) == "Tack"
    page.keyboard.press("ArrowDown")                 # round to the first
    assert page.evaluate(chosen) == "Starta om"
    page.keyboard.press("ArrowUp")
    assert page.evaluate(chosen) == "Tack"
    page.screenshot(path=str(artifacts / "console-composer-canned.png"), full_page=True)
    page.keyboard.press("Escape")                    # closes and keeps what was typed
    assert page.is_hidden("#canned-list") and page.input_value("#reply-body") == "/ta"
    page.keyboard.press("Backspace")                 # typing again opens it again
    page.wait_for_selector("#canned-list", state="visible")
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")                     # inserts, filled for this contact; sends nothing
    assert page.input_value("#reply-body") == "Tack så mycket, Ada Lind!"
    assert page.is_hidden("#canned-list")
    assert not in_another_thread(lambda: Message.objects.filter(ticket=email_ticket, direction="outbound").exists())
    page.keyboard.type(" Hej")                       # "/" only counts at the start
    assert page.is_hidden("#canned-list")


def test_the_sla_countdowns_tick_every_second_and_speak_only_on_a_change(chat_ticket, email_ticket, desk_server,
                                                                         browser, artifacts):
    page = signed_in(browser, desk_server, clock_at=OPENED)
    page.clock.pause_at(OPENED + timedelta(seconds=18))
    page.goto(f"{desk_server}/console/tickets/{chat_ticket.reference}/")
    first = "#sla li.sla:has-text('First response') .sla-state"
    assert page.inner_text(first) == "0:42 left"
    page.clock.run_for(1000)
    assert page.inner_text(first) == "0:41 left"
    assert page.inner_text("#sla-announce") == ""                      # silent while nothing changes
    assert "green" in page.get_attribute("#sla li.sla:has-text('First response')", "class")
    ack_due = in_another_thread(lambda: chat_ticket.sla_targets.get(kind="acknowledge").due_at)
    page.clock.run_for(44_000)                                         # past the minute
    assert page.inner_text(first) == "Overdue 0:03"
    assert "red" in page.get_attribute("#sla li.sla:has-text('First response')", "class")
    assert page.inner_text("#sla-announce") == "First response: Overdue 0:00"     # said when it turned
    page.clock.run_for(62_000)
    assert page.inner_text(first) == "Overdue 1:05"
    assert page.inner_text("#sla-announce") == "First response: Overdue 0:00"     # said once, not every second
    # The 12 business hours target, from the due time the server computed (days away: days first).
    left = int((ack_due - (OPENED + timedelta(seconds=125))).total_seconds())
    days, rest = divmod(left, 86400)
    clock = f"{rest // 3600}:{rest % 3600 // 60:02d}:{rest % 60:02d}"
    assert page.inner_text("#sla li.sla:has-text('Acknowledgement') .sla-state") == (
        f"{days} d {clock} left" if days else f"{clock} left")
    page.screenshot(path=str(artifacts / "console-sla-countdown.png"), full_page=True)

    # The email's 8 h target reads in hours; closed targets read as words.
    page.goto(f"{desk_server}/console/tickets/{email_ticket.reference}/")
    email_first = "#sla li.sla:has-text('First response') .sla-state"
    first_due = in_another_thread(lambda: email_ticket.sla_targets.get(kind="first_response").due_at)
    left = int((first_due - (OPENED + timedelta(seconds=125))).total_seconds())
    assert page.inner_text(email_first) == f"{left // 3600}:{left % 3600 // 60:02d}:{left % 60:02d} left"
    in_another_thread(lambda: [
        email_ticket.sla_targets.filter(kind="first_response").update(met_at=OPENED + timedelta(minutes=5)),
        email_ticket.sla_targets.filter(kind="acknowledge").update(met_at=ack_due + timedelta(minutes=1))])
    page.reload()
    assert page.inner_text(email_first) == "Met"
    assert page.inner_text("#sla li.sla:has-text('Acknowledgement') .sla-state") == "Breached, met late"
    page.clock.run_for(2000)
    assert page.inner_text(email_first) == "Met"
