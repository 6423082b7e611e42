"""A call waiting in the phone queue appears live in agent_sv's console with its 3-minute countdown;
accepting it sends the bridge to Twilio (a local stand-in, reached by the real twilio client)."""

from datetime import datetime, timedelta

import pytest
import requests
import time_machine
from django.contrib.auth import get_user_model
from twilio.request_validator import RequestValidator

from apps.accounts.services import make_agent
from apps.outbox import services as outbox
from apps.voice.jobs import apply_steps_job
from apps.voice.models import Call
from apps.voice.tests.standin import TwilioStandIn
from tests.browser.conftest import desk_env, free_port, in_another_thread, serve

pytestmark = pytest.mark.django_db(transaction=True)
ACCOUNT, TOKEN = "AC" + "1" * 32, "browser-test-token"
TUESDAY_MORNING = "2026-12-08T09:00:00+00:00"       # 10:00 in Stockholm: the phone line is open
CALL = "CA" + "e" * 32


@pytest.fixture
def twilio(settings):
    with TwilioStandIn() as standin:
        settings.TWILIO_API_BASE_URL = standin.url
        settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_ENABLED = ACCOUNT, TOKEN, True
        yield standin


@pytest.fixture
def phone_desk(regions, queues, settings, twilio):
    agent = get_user_model().objects.create_user("agent_sv", password="pw-agent-sv", first_name="Sara",
                                                 last_name="Berg")
    make_agent(user=agent, languages=["sv"], channels=["voice", "email"], time_zone="Europe/Stockholm")
    port = free_port()
    env = {**desk_env(settings.REDIS_URL), "TWILIO_ACCOUNT_SID": ACCOUNT, "TWILIO_AUTH_TOKEN": TOKEN,
           "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}", "TWILIO_API_BASE_URL": twilio.url}
    yield from serve(["tests.browser.frozen_clock", TUESDAY_MORNING], env, port=port)


def twilio_posts(base: str, path: str, **params) -> requests.Response:
    data = {"CallSid": CALL, "AccountSid": ACCOUNT, "From": "+46701234567", "To": "+46855500001",
            "CallStatus": "in-progress", **{key: str(value) for key, value in params.items()}}
    signature = RequestValidator(TOKEN).compute_signature(base + path, data)
    return requests.post(base + path, data=data, headers={"X-Twilio-Signature": signature}, timeout=10)


def agent_sv_online(browser, base: str):
    """agent_sv's console, online, in a Swedish browser whose clock is the desk's."""
    context = browser.new_context(locale="sv-SE", timezone_id="Europe/Stockholm")
    context.clock.install(time=datetime.fromisoformat(TUESDAY_MORNING))
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next=/console/")
    page.fill("#id_username", "agent_sv")
    page.fill("#id_password", "pw-agent-sv")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    page.wait_for_selector("#live-status.on", timeout=10_000)
    page.wait_for_function("document.getElementById('presence').value === 'online'")
    return page


def test_waiting_call_is_offered_live_with_its_countdown_and_accepting_bridges_it(phone_desk, browser, twilio):
    page = agent_sv_online(browser, phone_desk)

    assert twilio_posts(phone_desk, "/voice/incoming").status_code == 200
    queued = twilio_posts(phone_desk, "/voice/language", Digits=2)
    assert "<Enqueue" in queued.text and "support-sv" in queued.text
    # The voice worker's part with PostgreSQL + Redis (embedded, the desk applied the steps at commit).
    with time_machine.travel(datetime.fromisoformat(TUESDAY_MORNING), tick=False):
        in_another_thread(apply_steps_job)
    reference = Call.objects.get(sid=CALL).ticket.reference

    row = page.wait_for_selector(f'#queue tr[data-ref="{reference}"]', timeout=5_000)
    assert "Telefon" in row.inner_text()
    assert page.inner_text("#count-voice") == "1"         # waiting calls, counted live
    sla = f'#queue tr[data-ref="{reference}"] td.sla'
    page.wait_for_function(f"/^[23]:[0-5][0-9]$/.test(document.querySelector('{sla}').textContent)")
    first = page.inner_text(sla)
    page.wait_for_function(f"document.querySelector('{sla}').textContent !== '{first}'", timeout=5_000)
    assert page.inner_text(sla) < first                 # counting down: 2:58 after 2:59

    page.wait_for_selector("#offers .offer", timeout=5_000)
    page.keyboard.press("a")
    page.wait_for_url(f"**/console/tickets/{reference}/", timeout=10_000)
    page.wait_for_selector("#voice-panel")
    # The worker's part with PostgreSQL + Redis (embedded, the desk sent it at commit), at the desk's time.
    with time_machine.travel(datetime.fromisoformat(TUESDAY_MORNING) + timedelta(minutes=5), tick=False):
        in_another_thread(outbox.deliver_due)
    updates = twilio.call_updates()
    assert len(updates) == 1 and updates[0].path.endswith(f"/Calls/{CALL}.json")
    agent = get_user_model().objects.get(username="agent_sv")
    assert f"<Client>agent-{agent.pk}</Client>" in updates[0].form["Twiml"]
    assert Call.objects.get(sid=CALL).state == Call.State.BRIDGED


def test_a_caller_who_left_for_voicemail_in_time_is_not_shown_as_breached(phone_desk, browser):
    """The 3-minute target is set aside (not applicable) when the caller leaves for voicemail in time: past
    its due time the worklist shows the next open clock (the call-back), live and after a reload."""
    page = agent_sv_online(browser, phone_desk)

    queued = {"QueueSid": "QU" + "1" * 32, "QueuePosition": 1, "CurrentQueueSize": 1, "AvgQueueTime": 60}
    for path, params in [("/voice/incoming", {}), ("/voice/language", {"Digits": 2}),
                         ("/voice/wait?language=sv", {**queued, "QueueTime": 45, "Digits": 1}),
                         ("/voice/queue-result?language=sv", {"QueueSid": queued["QueueSid"], "QueueResult": "leave",
                                                              "QueueTime": 46}),
                         ("/voice/voicemail?language=sv", {"RecordingSid": "RE" + "2" * 32, "RecordingDuration": 30,
                                                           "RecordingUrl": "https://api.twilio.com/x/Recordings/RE2"})]:
        assert twilio_posts(phone_desk, path, **params).status_code == 200
    with time_machine.travel(datetime.fromisoformat(TUESDAY_MORNING), tick=False):
        in_another_thread(apply_steps_job)
    call = Call.objects.get(sid=CALL)
    assert call.state == Call.State.VOICEMAIL
    assert call.ticket.sla_targets.get(kind="first_response").not_applicable_at is not None

    sla = f'#queue tr[data-ref="{call.ticket.reference}"] td.sla'
    page.wait_for_selector(sla, timeout=5_000)
    # Nobody waits on the line: the voicemail is async work, counted with the emails, not as a waiting call.
    page.wait_for_function("document.getElementById('count-email').textContent === '1'", timeout=5_000)
    assert page.inner_text("#count-voice") == "0"
    page.clock.fast_forward("05:00")                       # past the 3-minute target's due time
    left = f"/^[0-9]+h [0-9]+m$/.test(document.querySelector('{sla}').textContent)"   # the call-back's 8 h
    page.wait_for_function(left, timeout=5_000)
    assert "red" not in page.get_attribute(sla, "class")
    page.reload()
    page.wait_for_function(left, timeout=5_000)
    assert "red" not in page.get_attribute(sla, "class")
    assert (page.inner_text("#count-voice"), page.inner_text("#count-email")) == ("0", "1")
