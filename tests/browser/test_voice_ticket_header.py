"""A phone ticket's head (title, chips, the call's facts, its voicemail) stays as compact as a chat's or an
email's, at desktop (1280 px) and phone (390 px) width, and never scrolls sideways."""

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.tickets import services as tickets
from apps.voice.models import Call

pytestmark = pytest.mark.django_db(transaction=True)

CALL = "CA" + "7" * 32
# The head's height in CSS pixels: title, chips, one or two lines of facts, the voicemail's player and a
# two-line transcription, and the "Log the call" line. Before it was compact: 573 px at 1280 px.
BOUNDS = {1280: 360, 390: 560}


@pytest.fixture
def voicemail(regions, queues):
    """A recorded, transcribed voicemail that waited in the queue: every fact the panel shows."""
    agent = get_user_model().objects.create_user("agent_sv", password="pw-agent-sv", first_name="Sara",
                                                 last_name="Berg")
    make_agent(user=agent, languages=["sv"], channels=["voice", "email"], time_zone="Europe/Stockholm")
    contact = tickets.find_or_create_contact(email="tom.berg@example.com", name="Tom Berg", language="sv",
                                             region=regions["europe"])
    ticket = actions.open_ticket(channel="voice", contact=contact, subject="", body="", external_ref=CALL,
                                 language="sv", region=regions["europe"])
    Call.objects.create(sid=CALL, from_number="+46701234567", to_number="+46855500001", region=regions["europe"],
                        language="sv", state=Call.State.VOICEMAIL, ticket=ticket, queue_seconds=95,
                        duration_seconds=48, answered_by=agent,
                        recording_url="https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/RE1",
                        transcription="Hej, det är Tom Berg. Jag har köpt en licens men programmet säger att den "
                                      "har gått ut. Ring mig gärna i eftermiddag, tack.")
    return ticket


def head_height(page) -> float:
    """From the title's top to the bottom of the phone panel: what the agent reads before the thread."""
    return page.evaluate("""() => {
      const top = document.querySelector('.thread-card h1').getBoundingClientRect().top;
      return document.getElementById('voice-panel').getBoundingClientRect().bottom - top;
    }""")


def test_the_phone_tickets_head_is_compact_at_desktop_and_phone_width(voicemail, desk_server, browser, artifacts):
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    page = context.new_page()
    page.goto(f"{desk_server}/accounts/login/?next=/console/")
    page.fill("#id_username", "agent_sv")
    page.fill("#id_password", "pw-agent-sv")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    for width, height in ((1280, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        page.goto(f"{desk_server}/console/tickets/{voicemail.reference}/")
        page.wait_for_selector("#voice-panel")
        page.screenshot(path=str(artifacts / f"console-voice-head-{width}.png"))
        assert head_height(page) < BOUNDS[width], f"{width} px: the head is {head_height(page)} px tall"
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        facts = page.inner_text("#voice-panel dl.call")
        assert "+46701234567" in facts and "Röstmeddelande" in facts and "Sara Berg" in facts   # all still there
        if width == 1280:         # the short facts (caller, number, state, queue, agent, length) on two lines at most
            tops = sorted(page.eval_on_selector_all("#voice-panel dl.call > div:not(.wide)",
                                                    "ds => ds.map(d => d.getBoundingClientRect().top)"))
            lines = 1 + sum(1 for above, below in zip(tops, tops[1:]) if below - above > 10)
            assert lines <= 2, tops
    # Logging a call is one click away, and then the whole form is there.
    page.click("#voice-panel details.callback summary")
    page.fill("#call-summary", "Ringde tillbaka, licensen förnyad.")
    with page.expect_navigation():
        page.click("#voice-panel details.callback button[type=submit]")
    assert "Ringde tillbaka, licensen förnyad." in page.inner_text("#thread")
    context.close()
