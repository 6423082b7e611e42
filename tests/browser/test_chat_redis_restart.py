"""A visitor on the demo page chats with an agent in the console while the desk's Redis is
stopped and started again.

Redis going away does not close a websocket: both sockets stay open and pushes between them
just stop (the pub/sub publish fails; the message is already stored). Each side must notice
in bounded time and catch up from the database, and once Redis is back the channel layer
must listen to the conversation's groups again, so pushes flow without any replay. At the
end the widget, the console and the database hold one ordered transcript, each message once.
"""

import json
import time

import pytest

from apps.chat.models import Conversation, Entry, visitor_group
from apps.console.events import agent_group
from apps.desk.actions import open_ticket
from apps.tickets.models import Contact, TicketEvent
from tests.browser.conftest import chat_panel_ready, in_another_thread
from tests.browser.test_chat_widget import PANEL, agent_console, console_lines, widget_lines
from tests.browser.test_chat_widget import chat_desk as chat_desk  # a fixture

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.redis(reason="restarts the Redis that carries the channel layer")]

# The widget pings every 15 s once an agent has joined and the console chat panel checks as
# often; the rest is slack for a loaded machine.
CATCH_UP_MS = 40_000


class Frames:
    """Every frame a page's websockets sent and received, in the order the browser saw them."""

    def __init__(self, page, path: str):
        self.path, self.log = path, []
        page.on("websocket", self._watch)

    def _watch(self, socket):
        if self.path not in socket.url:
            return
        socket.on("framesent", lambda payload: self.log.append(("sent", json.loads(payload))))
        socket.on("framereceived", lambda payload: self.log.append(("received", json.loads(payload))))

    def received(self, kind: str) -> list[dict]:
        return [frame for way, frame in self.log if way == "received" and frame["type"] == kind]

    def sent(self, kind: str) -> list[dict]:
        return [frame for way, frame in self.log if way == "sent" and frame["type"] == kind]

    def arrived_live(self, body: str, *, resume: str, replay_end: str) -> bool:
        """True when ``body`` first came as a push, not inside a replay that ``resume`` asked for."""
        in_replay = False
        for way, frame in self.log:
            if way == "sent" and frame["type"] == resume:
                in_replay = True
            elif way == "received" and frame["type"] == replay_end:
                in_replay = False
            elif way == "received" and frame.get("body") == body and "seq" in frame and frame["type"] != "ack" \
                    and not frame["type"].endswith(".ack"):
                return not in_replay
        raise AssertionError(f"{body!r} never arrived")


def wait_until(check, timeout_s: float, what: str):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_redis_restart_mid_chat_loses_and_doubles_nothing(chat_desk, private_redis, desk_on_private_redis, browser):
    base = desk_on_private_redis.url
    agent = agent_console(browser, base)
    agent_frames = Frames(agent, "/ws/console/")
    visitor = browser.new_context(locale="sv-SE").new_page()
    visitor_frames = Frames(visitor, "/ws/chat/")
    visitor.goto(f"{base}/widget/demo/")
    visitor.click(f"{PANEL} .launcher")
    visitor.fill(f"{PANEL} input[name=name]", "Ada Lind")
    visitor.fill(f"{PANEL} input[name=email]", "ada@example.com")
    visitor.click(f"{PANEL} #sd-prechat button[type=submit]")
    agent.wait_for_selector("#offers .offer button", timeout=10_000).click()
    chat_panel_ready(agent)
    visitor.wait_for_function(
        f"document.querySelector('{PANEL}').shadowRoot.querySelector('.agent').textContent.includes('Sara Berg')")
    conversation = in_another_thread(lambda: Conversation.objects.get())
    # The pub/sub channels of the visitor's group and the agent's (settings: prefix "sd" + Redis db).
    groups = {f"sd0__group__{visitor_group(conversation.pk)}", f"sd0__group__{agent_group(chat_desk.pk)}"}
    assert groups <= private_redis.subscribed()

    visitor_sent, agent_sent = [], []

    def visitor_says(text):
        visitor_sent.append(text)
        visitor.fill(f"{PANEL} #sd-composer textarea", text)
        visitor.press(f"{PANEL} #sd-composer textarea", "Enter")

    def agent_says(text):
        agent_sent.append(text)
        agent.fill("#reply-body", text)
        agent.press("#reply-body", "Enter")

    def all_stored():
        visitor.wait_for_function(
            f"document.querySelector('{PANEL}').shadowRoot.querySelectorAll('li.msg[data-state=pending]').length === 0",
            timeout=10_000)
        agent.wait_for_function("document.querySelectorAll('#thread li[data-delivery=sending]').length === 0",
                                timeout=10_000)

    def both_show(count, timeout=10_000):
        """Both screens hold messages 1..count, whoever sent them."""
        visitor.wait_for_function(
            f"document.querySelector('{PANEL}').shadowRoot.querySelectorAll('li.msg[data-seq]').length >= {count}",
            timeout=timeout)
        agent.wait_for_function(f"document.querySelectorAll('#thread li.msg[data-seq]').length >= {count}",
                                timeout=timeout)
        assert [seq for seq, _ in widget_lines(visitor)] == list(range(1, count + 1))
        assert [seq for seq, _ in console_lines(agent)] == list(range(1, count + 1))

    visitor_says("Hej! Appen fryser när jag sparar.")
    agent.wait_for_selector("#thread li.msg[data-seq='1']")
    agent_says("Hej Ada! Vilken version?")
    both_show(2)

    # Redis goes away. Nobody's socket closes; the pushes between them silently stop.
    private_redis.stop()
    # Meanwhile mail opens a ticket in the agent's queue (its push to the consoles fails too).
    email = in_another_thread(lambda: open_ticket(
        channel="email", contact=Contact.objects.create(name="Bo Ek", email="bo@example.com", language="sv"),
        subject="Faktura", body="Var är min faktura?", external_ref="redis-restart-1"))
    visitor_says("Version 12.3.")
    agent_says("Tack. Har du sparat till nätverksdisk?")
    visitor_says("Ja, till G:.")
    agent_says("Då vet jag vad det är.")
    all_stored()          # each side's own messages are stored and acknowledged without Redis
    both_show(6, timeout=CATCH_UP_MS)      # and each side has caught up on the other's from the database
    assert private_redis.process.poll() is not None, "Redis must still be down here"

    # Redis comes back empty: the desk must subscribe to the conversation's groups again.
    private_redis.start()
    wait_until(lambda: groups <= private_redis.subscribed(), 20, "the desk to subscribe to its groups again")
    visitor_says("Redis är tillbaka?")
    agent.wait_for_selector("#thread li.msg[data-seq='7']", timeout=10_000)
    agent_says("Ja, och allt finns kvar.")
    visitor.wait_for_selector(f"{PANEL} li.msg[data-seq='8']", timeout=10_000)
    visitor_says("Toppen, tack!")
    agent_says("Varsågod!")
    all_stored()
    both_show(10)

    seen_by_visitor, seen_by_agent = widget_lines(visitor), console_lines(agent)
    assert [seq for seq, _ in seen_by_visitor] == list(range(1, 11))
    assert seen_by_visitor == seen_by_agent
    stored = in_another_thread(lambda: list(Entry.objects.order_by("seq").values_list("seq", "message__body_text")))
    assert [tuple(line) for line in seen_by_visitor] == stored
    assert sorted(body for _, body in stored) == sorted(visitor_sent + agent_sent)
    # Every message exactly once on each screen, including the lines the console got as ticket events.
    assert visitor.locator(f"{PANEL} li.msg").count() == 10
    assert agent.locator("#thread li.msg").count() == in_another_thread(lambda: conversation.ticket.messages.count())

    # After the restart pushes flowed again: the last four arrived live, not through a replay.
    for body in ("Redis är tillbaka?", "Toppen, tack!"):
        assert agent_frames.arrived_live(body, resume="chat.resume", replay_end="chat.state")
    for body in ("Ja, och allt finns kvar.", "Varsågod!"):
        assert visitor_frames.arrived_live(body, resume="resume", replay_end="resumed")

    # The console's ticket event stream caught up as well: a heartbeat told it to resync.
    opened = in_another_thread(lambda: TicketEvent.objects.get(ticket=email, kind=TicketEvent.Kind.OPENED).pk)
    wait_until(lambda: int(agent.evaluate("localStorage.getItem('console.cursor')") or 0) >= opened,
               CATCH_UP_MS / 1000, "the console to resync its ticket events")
    assert agent_frames.sent("resync")
    assert opened in [frame["id"] for frame in agent_frames.received("ticket.event")]
