"""An agent works a ticket in the real console: it appears live, they reply, status and SLA follow."""

import re

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.tickets import services as tickets
from apps.tickets.models import Ticket
from tests.browser.conftest import desk_env, in_another_thread, serve

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def contact_sv(regions, queues):
    """An agent and a contact, written before Playwright starts its event loop in this thread."""
    agent = get_user_model().objects.create_user("agent_sv", password="pw-agent-sv")
    make_agent(user=agent, languages=["sv"], channels=["chat", "email"], time_zone="Europe/Stockholm")
    return tickets.find_or_create_contact(email="ada@example.com", name="Ada Lind", language="sv",
                                          region=regions["europe"])


@pytest.mark.redis(reason="tickets opened in the test process reach the server's consoles only "
                          "over a channel layer both share")
def test_agent_sees_a_new_ticket_live_and_replies(contact_sv, desk_server, browser, artifacts):
    contact = contact_sv
    page = browser.new_page(locale="sv-SE")
    page.goto(f"{desk_server}/accounts/login/?next=/console/")
    page.fill("#id_username", "agent_sv")
    page.fill("#id_password", "pw-agent-sv")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    page.wait_for_selector("#live-status.on", timeout=10_000)
    page.wait_for_function("document.getElementById('presence').value === 'online'")

    ticket = in_another_thread(lambda: actions.open_ticket(
        channel="email", contact=contact, subject="Appen kraschar vid start", body="Hej, appen kraschar.",
        external_ref="<live-1@example.com>"))
    row = page.wait_for_selector(f'#queue tr[data-ref="{ticket.reference}"]', timeout=5_000)
    assert "Appen kraschar" in row.inner_text()
    assert row.query_selector("td.status").inner_text() == "Nytt"     # the label in the agent's language
    assert page.inner_text("#count-email") == "1"
    page.wait_for_function(
        f"document.querySelector('#queue tr[data-ref=\"{ticket.reference}\"] td.sla').classList.contains('green')")
    # A chat arriving later is due sooner (1 minute against 8 hours): it goes above the mail, live
    # and after a reload alike.
    chat = in_another_thread(lambda: actions.open_ticket(
        channel="chat", contact=contact, subject="", body="", external_ref="live-chat-1"))
    chat_row = page.wait_for_selector(f'#queue tr[data-ref="{chat.reference}"]', timeout=5_000)
    assert chat_row.query_selector("td.subject").inner_text() == "(inget ämne)"     # no blank cell
    order = "Array.from(document.querySelectorAll('#queue tbody tr')).map(r => r.dataset.ref)"
    assert page.evaluate(order) == [chat.reference, ticket.reference]
    page.reload()
    page.wait_for_selector("#live-status.on", timeout=10_000)
    assert page.evaluate(order) == [chat.reference, ticket.reference]
    assert page.inner_text(f'#queue tr[data-ref="{chat.reference}"] td.subject') == "(inget ämne)"
    # A subject that is one long unbroken string wraps inside the queue's card.
    long_one = in_another_thread(lambda: actions.open_ticket(
        channel="email", contact=contact, subject="C:/Users/ada/AppData/Local/" + "x" * 120, body="Hej.",
        external_ref="<live-2@example.com>"))
    page.wait_for_selector(f'#queue tr[data-ref="{long_one.reference}"]', timeout=5_000)
    assert page.evaluate("(() => { const t = document.getElementById('queue');"
                         " return t.getBoundingClientRect().right <= t.closest('.card').getBoundingClientRect().right;"
                         " })()")
    page.screenshot(path=str(artifacts / "console-queue.png"), full_page=True)

    page.click(f'#queue tr[data-ref="{ticket.reference}"] a')
    page.wait_for_load_state()                  # the page's scripts run: "r" is their shortcut
    page.wait_for_selector("#live-status.on", timeout=10_000)
    page.keyboard.press("r")
    page.keyboard.type("Hej Ada! Vi tittar på det.")
    page.click("#send-reply")
    page.wait_for_selector("#thread li.outbound")
    assert "Vi tittar på det" in page.inner_text("#thread")
    page.wait_for_function("document.querySelectorAll('#sla .sla.done').length === 2")
    # The history reads one way, rendered or arrived live: the agent's locale (sv: 2026-03-02 10:15).
    history = page.eval_on_selector_all("#events li", "items => items.map(item => item.textContent)")
    assert history and all(re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2} · ", item) for item in history), history
    # The desk's own parts are named in Swedish, on the page and in entries that arrived live.
    assert not any(item.endswith((" · routing", " · sla")) for item in history), history
    # The answer met both targets: the entries say which (apps/console/history.py), and the status move.
    assert any(item.endswith(" · SLA: Första svar: uppfyllt · SLA-klockan") for item in history), history
    assert any(item.endswith(" · SLA: Bekräftelse: uppfyllt · SLA-klockan") for item in history), history
    assert any(" · Status ändrad: Nytt → Öppet · " in item for item in history), history
    page.screenshot(path=str(artifacts / "console-ticket.png"), full_page=True)

    stored = in_another_thread(lambda: Ticket.objects.prefetch_related("sla_targets").get(pk=ticket.pk))
    assert stored.status == Ticket.Status.OPEN
    # A change made elsewhere arrives live and reads as the rendered entries do.
    in_another_thread(lambda: actions.change_status(ticket=stored, to=Ticket.Status.PENDING,
                                                    actor=tickets.Actor(user=stored.assignee)))
    page.wait_for_function("[...document.querySelectorAll('#events li')]"
                           ".some(li => li.textContent.includes('Öppet → Väntar på användaren'))", timeout=5_000)
    assert stored.first_response_at is not None
    assert all(target.met_at for target in stored.sla_targets.all())


@pytest.fixture
def asking_desk(transactional_db, settings):
    """daphne asking each console for its heartbeat every second (20 s by default)."""
    yield from serve(["daphne"], {**desk_env(settings.REDIS_URL), "CONSOLE_HEARTBEAT_SECONDS": "1"})


def test_the_console_answers_when_the_server_asks_for_its_heartbeat(contact_sv, asking_desk, browser):
    """A hidden tab's own timer may fire once a minute; the answer to the socket's ask keeps the agent online."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.routing.models import AgentState

    page = browser.new_page(locale="en-US")
    page.goto(f"{asking_desk}/accounts/login/?next=/console/")
    page.fill("#id_username", "agent_sv")
    page.fill("#id_password", "pw-agent-sv")
    page.click("button[type=submit]")
    page.wait_for_selector("#live-status.on", timeout=10_000)
    long_ago = timezone.now() - timedelta(minutes=5)
    in_another_thread(lambda: AgentState.objects.filter(user__username="agent_sv").update(last_seen_at=long_ago))
    # The page's own timer would not beat for 20 s; the server asks every second, answered at most every 10 s.
    for _ in range(30):
        page.wait_for_timeout(500)
        seen = in_another_thread(lambda: AgentState.objects.get(user__username="agent_sv").last_seen_at)
        if seen > long_ago + timedelta(minutes=4):
            break
    assert seen > long_ago + timedelta(minutes=4)
