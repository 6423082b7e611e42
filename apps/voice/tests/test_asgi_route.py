"""The webhooks' ASGI route in front of Django: the same answers and checks, everything else left to Django.

The route runs the webhooks on threads of its own, with their own database connections, so
these tests commit (``transaction=True``) for those threads to see the test's rows.
"""

import asyncio
import xml.etree.ElementTree as ET
from urllib.parse import urlencode, urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.core.asgi import get_asgi_application
from twilio.request_validator import RequestValidator

from apps.tickets.models import Message, Ticket
from apps.voice.asgi import PhoneLine
from apps.voice.models import Call, CallStep
from apps.voice.tests.conftest import PUBLIC, TOKEN, Caller, said

pytestmark = pytest.mark.django_db(transaction=True)


class Answer:
    def __init__(self, messages):
        start = next(m for m in messages if m["type"] == "http.response.start")
        self.status_code = start["status"]
        self.headers = {name.decode().lower(): value.decode() for name, value in start["headers"]}
        self.content = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")

    def __getitem__(self, header):
        return self.headers[header.lower()]


class AsgiClient:
    """Posts a form to an ASGI application as daphne would hand it over (the test client's interface)."""

    def __init__(self, application):
        self.application = application

    def post(self, path, data, HTTP_X_TWILIO_SIGNATURE="", body=None, method="POST"):  # noqa: N803
        url = urlsplit(path)
        headers = [(b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded")]
        if HTTP_X_TWILIO_SIGNATURE:
            headers.append((b"x-twilio-signature", HTTP_X_TWILIO_SIGNATURE.encode()))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
                 "scheme": "http", "path": url.path, "raw_path": url.path.encode(), "root_path": "",
                 "query_string": url.query.encode(), "headers": headers, "server": ("testserver", 80),
                 "client": ("127.0.0.1", 50000)}
        return Answer(async_to_sync(self._call)(scope, urlencode(data).encode() if body is None else body))

    def get(self, path):
        return self.post(path, {}, method="GET")

    async def _call(self, scope, body):
        requests = [{"type": "http.request", "body": body, "more_body": False}]
        sent = []

        async def receive():
            if requests:
                return requests.pop(0)
            await asyncio.Event().wait()      # the client stays connected (Django listens for a disconnect)

        async def send(message):
            sent.append(message)

        await self.application(scope, receive, send)
        return sent


class Django:
    """Django's ASGI application, noting which requests reached it."""

    def __init__(self):
        self.application, self.reached = get_asgi_application(), []

    async def __call__(self, scope, receive, send):
        self.reached.append((scope["method"], scope["path"]))
        await self.application(scope, receive, send)


@pytest.fixture
def django_app():
    return Django()


@pytest.fixture
def line(django_app):
    route = PhoneLine(django_app, threads=1)
    yield AsgiClient(route)
    route.executor.shutdown(wait=True)


def test_a_queued_call_through_the_route(line, django_app, swedish_agent, regions, queues):
    caller = Caller(line)
    menu = caller.twiml("/voice/incoming")
    assert menu.find("Gather").get("action") == "/voice/language"
    queued = caller.twiml("/voice/language", Digits="2")
    enqueue = queued.find("Enqueue")
    assert enqueue.text == "support-sv" and enqueue.get("action") == "/voice/queue-result?language=sv"
    hold = caller.twiml("/voice/wait?language=sv", QueuePosition="1", QueueTime="20", AvgQueueTime="40")
    assert "nummer 1 i kön" in said(hold) and hold.find("Play") is not None
    call = Call.objects.get(sid=caller.sid)
    assert call.state == Call.State.QUEUED and call.language == "sv"
    ticket = Ticket.objects.get(pk=call.ticket_id)
    assert ticket.channel == "voice" and ticket.language == "sv"
    assert Message.objects.filter(ticket=ticket, external_id=caller.sid).exists()
    assert list(CallStep.objects.filter(sid=caller.sid).values_list("step", flat=True)) == ["incoming", "language"]
    assert django_app.reached == []         # answered in front of Django


def test_signatures_are_checked_as_the_django_view_checks_them(line, settings, regions, queues, open_hours):
    caller = Caller(line)
    assert caller.post("/voice/incoming", signature="").status_code == 403
    assert caller.post("/voice/incoming", signature="bm90IGEgc2lnbmF0dXJl").status_code == 403
    data = {"CallSid": "CA" + "c" * 32}
    other_slash = RequestValidator(TOKEN).compute_signature(PUBLIC + "/voice/incoming/", data)
    assert line.post("/voice/incoming", data, HTTP_X_TWILIO_SIGNATURE=other_slash).status_code == 403
    assert CallStep.objects.count() == 0 and Call.objects.count() == 0
    # Signed as called: with the trailing slash, and with the query the desk's TwiML put on the URL.
    assert line.post("/voice/incoming/", data, HTTP_X_TWILIO_SIGNATURE=other_slash).status_code == 200
    query = {"CallSid": "CA" + "d" * 32, "QueuePosition": "2", "QueueTime": "5"}
    signed = RequestValidator(TOKEN).compute_signature(PUBLIC + "/voice/wait?language=sv", query)
    answer = line.post("/voice/wait?language=sv", query, HTTP_X_TWILIO_SIGNATURE=signed)
    assert answer.status_code == 200 and answer["Content-Type"] == "text/xml"
    ET.fromstring(answer.content)


def test_what_is_not_a_webhook_goes_on_to_django(line, django_app, settings, regions, queues, open_hours):
    assert line.get("/voice/incoming").status_code == 405          # Django's answer to a GET
    assert line.post("/voice/token", {}).status_code in (302, 403, 404, 405)
    assert line.post("/voice/nonsense", {}).status_code == 404
    settings.TWILIO_ENABLED = False
    assert Caller(line).post("/voice/incoming").status_code == 404  # the line is off: Django's 404
    assert CallStep.objects.count() == 0
    assert django_app.reached == [("GET", "/voice/incoming"), ("POST", "/voice/token"), ("POST", "/voice/nonsense"),
                                  ("POST", "/voice/incoming")]


def test_a_body_that_is_not_a_form_is_refused_and_stores_nothing(line, regions, queues, open_hours):
    data = {"CallSid": "CA" + "e" * 32}
    signature = RequestValidator(TOKEN).compute_signature(PUBLIC + "/voice/incoming", data)
    answer = line.post("/voice/incoming", data, HTTP_X_TWILIO_SIGNATURE=signature, body=b"CallSid=CA\xff\xfe")
    assert answer.status_code == 400
    assert CallStep.objects.count() == 0
