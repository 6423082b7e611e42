"""The bridge through the outbox (real twilio client, local stand-in), the softphone token, recordings, the API."""

from datetime import timedelta

import jwt
import pytest
import time_machine
from django.utils import timezone

from apps.desk import actions
from apps.outbox import services as outbox
from apps.outbox.models import OutboxItem
from apps.voice.models import Call
from apps.voice.tests.conftest import ACCOUNT, TOKEN
from apps.voice.tests.standin import RECORDING_BYTES

pytestmark = pytest.mark.django_db


def queued_call(caller, agent):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=2)
    ticket = Call.objects.get(sid=caller.sid).ticket
    actions.take_ticket(ticket=ticket, user=agent)
    return ticket, OutboxItem.objects.get(kind="twilio.call")


def test_bridge_retries_503_with_retry_after_then_bridges_once(caller, swedish_agent, regions, queues, twilio):
    ticket, row = queued_call(caller, swedish_agent)
    twilio.fail_next(503, retry_after=7)
    assert outbox.deliver(item_ids=[row.pk]) == {"retry": 1}
    row.refresh_from_db()
    assert row.status == "pending" and "503" in row.last_error
    assert 5 <= (row.next_attempt_at - timezone.now()).total_seconds() <= 7       # Retry-After honoured
    assert outbox.deliver(item_ids=[row.pk]) == {}         # not before its time
    with time_machine.travel(row.next_attempt_at + timedelta(seconds=1)):
        assert outbox.deliver(item_ids=[row.pk]) == {"sent": 1}
    assert len(twilio.call_updates()) == 2
    assert all(update.auth == (ACCOUNT, TOKEN) for update in twilio.call_updates())
    assert Call.objects.get(sid=caller.sid).state == Call.State.BRIDGED
    assert outbox.deliver(item_ids=[row.pk]) == {}         # sent rows are never sent again


def test_a_caller_who_hung_up_before_the_bridge_is_not_a_dead_letter(caller, swedish_agent, regions, queues, twilio):
    _ticket, row = queued_call(caller, swedish_agent)
    twilio.fail_next(404)
    assert outbox.deliver(item_ids=[row.pk]) == {"sent": 1}


def test_bad_credentials_are_a_dead_letter(caller, swedish_agent, regions, queues, twilio):
    _ticket, row = queued_call(caller, swedish_agent)
    twilio.fail_next(401)
    assert outbox.deliver(item_ids=[row.pk]) == {"dead": 1}


def test_an_agent_with_a_phone_number_is_dialled_there(caller, swedish_agent, regions, queues, twilio):
    swedish_agent.agent_profile.phone_number = "+46709999999"
    swedish_agent.agent_profile.save()
    _ticket, row = queued_call(caller, swedish_agent)
    assert "<Number>+46709999999</Number>" in row.payload["twiml"]


def test_softphone_token_for_phone_agents_only(client, settings, swedish_agent, django_user_model):
    client.force_login(swedish_agent)
    assert client.get("/voice/token").status_code == 404           # no API key: no softphone
    settings.TWILIO_API_KEY, settings.TWILIO_API_SECRET = "SK" + "2" * 32, "api-secret-of-thirty-two-characters!"
    settings.TWILIO_TWIML_APP_SID = "AP" + "3" * 32
    answer = client.get("/voice/token")
    assert answer.status_code == 200 and "no-store" in answer["Cache-Control"]
    claims = jwt.decode(answer.json()["token"], "api-secret-of-thirty-two-characters!", algorithms=["HS256"])
    assert claims["grants"]["identity"] == f"agent-{swedish_agent.pk}"
    assert claims["grants"]["voice"]["incoming"]["allow"] is True
    assert claims["grants"]["voice"]["outgoing"]["application_sid"] == settings.TWILIO_TWIML_APP_SID
    mail_only = django_user_model.objects.create_user("mail_only", password="pw")
    from apps.accounts.services import make_agent
    make_agent(user=mail_only, languages=["sv"], channels=["email"])
    client.force_login(mail_only)
    assert client.get("/voice/token").status_code == 404


def test_voicemail_audio_is_fetched_for_agents_who_may_see_the_ticket(caller, agent, regions, queues, twilio,
                                                                      client, django_user_model, open_hours):
    caller.twiml("/voice/language", Digits=2)          # nobody online: voicemail
    caller.twiml("/voice/voicemail", RecordingUrl=f"{twilio.url}/2010-04-01/Accounts/{ACCOUNT}/Recordings/RE9",
                 RecordingSid="RE9", RecordingDuration=12)
    call = Call.objects.get(sid=caller.sid)
    url = f"/voice/tickets/{call.ticket.reference}/calls/{call.pk}/recording"
    client.force_login(agent)
    answer = client.get(url)
    assert answer.status_code == 200 and answer.content == RECORDING_BYTES and answer["Content-Type"] == "audio/mpeg"
    assert twilio.requests[-1].auth == (ACCOUNT, TOKEN) and twilio.requests[-1].path.endswith("/RE9.mp3")
    page = client.get(f"/console/tickets/{call.ticket.reference}/")
    assert url.encode() in page.content and b"voice-panel" in page.content
    assert b"the caller left a voicemail" in page.content and b"Call back" in page.content
    from apps.accounts.services import make_agent
    outsider = django_user_model.objects.create_user("agent_ja", password="pw")
    make_agent(user=outsider, languages=["ja"], channels=["email"])
    client.force_login(outsider)
    assert client.get(url).status_code == 404


def test_the_api_shows_the_callsid_as_the_messages_external_id(caller, swedish_agent, regions, queues, api_client):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=2)
    ticket = Call.objects.get(sid=caller.sid).ticket
    body = api_client.get(f"/api/tickets/{ticket.reference}").json()
    assert body["channel"] == "voice"
    assert caller.sid in [message.get("external_id") for message in body.get("messages", [])]
