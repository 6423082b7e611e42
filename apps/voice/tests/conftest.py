"""Fixtures of the phone tests: Twilio's credentials, a signed-request client, the REST stand-in, an agent online."""

import xml.etree.ElementTree as ET
from datetime import UTC, datetime

import pytest
import time_machine
from twilio.request_validator import RequestValidator

from apps.outbox import services as outbox
from apps.routing import services as routing
from apps.voice.jobs import apply_steps_job
from apps.voice.tests.standin import TwilioStandIn

ACCOUNT = "AC" + "1" * 32
TOKEN = "twilio-test-auth-token"
PUBLIC = "https://desk.example.com"
# A Tuesday, 10:00 in Stockholm (09:00 UTC): the europe region's phone hours are open.
OPEN = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
# A Saturday, 12:00 in Stockholm: closed until Monday 08:00.
CLOSED = datetime(2026, 12, 12, 11, 0, tzinfo=UTC)
SWEDISH_LINE = "+46855500001"
CALLER = "+46701234567"


@pytest.fixture(autouse=True)
def phone_line(settings, monkeypatch):
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_ENABLED = ACCOUNT, TOKEN, True
    settings.PUBLIC_BASE_URL = PUBLIC
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Each test drives delivery itself (embedded mode would deliver inline at commit).
    monkeypatch.setattr(outbox, "enqueue_on_commit", lambda *args: None)


@pytest.fixture
def twilio(settings):
    with TwilioStandIn() as standin:
        settings.TWILIO_API_BASE_URL = standin.url
        yield standin


class Caller:
    """Twilio's side of a call: signed webhook requests exactly as Twilio signs them.

    After each request the voice worker's job applies the stored steps, as the worker does
    within moments in production (``apply=False`` leaves them pending).
    """

    def __init__(self, client, sid: str = "CA" + "a" * 32, number: str = CALLER, line: str = SWEDISH_LINE):
        self.client, self.sid, self.number, self.line = client, sid, number, line

    def post(self, path: str, public: str = PUBLIC, signature: str | None = None, apply: bool = True, **params):
        data = {"CallSid": self.sid, "AccountSid": ACCOUNT, "From": self.number, "To": self.line,
                "CallStatus": "in-progress", "Direction": "inbound", "ApiVersion": "2010-04-01"}
        data.update({key: str(value) for key, value in params.items()})
        data = {key: value for key, value in data.items() if value != "None"}
        if signature is None:
            signature = RequestValidator(TOKEN).compute_signature(public + path, data)
        response = self.client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature)
        if apply:
            apply_steps_job()
        return response

    def twiml(self, path: str, apply: bool = True, **params) -> ET.Element:
        response = self.post(path, apply=apply, **params)
        assert response.status_code == 200, response.content
        assert response["Content-Type"].startswith("text/xml")
        return ET.fromstring(response.content)


@pytest.fixture
def caller(client):
    return Caller(client)


@pytest.fixture
def open_hours():
    with time_machine.travel(OPEN, tick=False) as traveller:
        yield traveller


@pytest.fixture
def swedish_agent(agent, open_hours):
    """agent_sv (phone, chat, mail in Swedish), online with a fresh heartbeat."""
    routing.set_presence(user=agent, presence="online")
    routing.heartbeat(user=agent)
    return agent


@pytest.fixture
def english_agent(db, open_hours):
    """agent_en (phone in English), online."""
    from django.contrib.auth import get_user_model

    from apps.accounts.services import make_agent

    user = get_user_model().objects.create_user("agent_en", password="pw")
    make_agent(user=user, languages=["en"], channels=["voice"])
    routing.set_presence(user=user, presence="online")
    return user


def said(document: ET.Element) -> str:
    return " ".join(node.text or "" for node in document.iter("Say"))
