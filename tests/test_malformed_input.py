"""Malformed input gets a 4xx with a clear message, through the real URLs; nothing answers 500.

Each client is built with ``raise_request_exception=False``, so a 500 shows as one
(as a browser or a provider would see it) instead of raising in the test.
"""

import base64
import json

import pytest
from django.test import Client

from apps.chat import services as chat
from apps.chat.tokens import visitor_token
from apps.feedback import services as feedback
from apps.tickets.models import Contact, Ticket

NUL_REFUSED = "The request contains a NUL character or invalid Unicode, which is not allowed."
OFFLINE = {"language": "sv", "name": "Ada Lind", "email": "ada@example.com", "entry_point": "widget-europe",
           "message": "Appen kraschar."}
REPORT = {"user_email": "ada@example.org", "language": "sv-SE", "product": "core", "app_version": "14.2.1",
          "message": "Appen kraschar."}


@pytest.fixture
def web():
    return Client(raise_request_exception=False)


@pytest.fixture(params=[False, True], ids=["debug-off", "debug-on"])
def debug(request, settings):
    """ninja answers an exception it has no handler for with a 500 (and a traceback in DEBUG): both ways."""
    settings.DEBUG = request.param
    return request.param


def post_json(client, path, data, **headers):
    return client.post(path, json.dumps(data), content_type="application/json", **headers)


@pytest.mark.parametrize("field", ["name", "message", "email", "entry_point", "page_url"])
def test_nul_in_any_field_of_the_offline_form_is_a_400(web, regions, queues, field):
    response = post_json(web, "/api/chat/offline", {**OFFLINE, field: OFFLINE.get(field, "x") + "\x00"})

    assert response.status_code == 400
    assert response.json() == {"code": "bad_request", "detail": NUL_REFUSED}
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("path", ["/api/chat/conversations", "/api/chat/offline"])
def test_an_unpaired_surrogate_in_json_is_a_400_and_an_escaped_emoji_is_welcome(web, regions, queues, path):
    body = json.dumps({**OFFLINE, "name": "Ada"}).replace('"Ada"', '"Ada \\ud83d"')
    refused = web.post(path, body, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["detail"] == NUL_REFUSED

    accepted = post_json(web, "/api/chat/offline", {**OFFLINE, "name": "Ada \U0001F600"})   # sent as \ud83d\ude00
    assert accepted.status_code == 201 and Contact.objects.get().name == "Ada \U0001F600"


def test_the_refusal_is_in_the_visitors_language(web, regions, queues):
    response = post_json(web, "/api/chat/offline", {**OFFLINE, "name": "Ada\x00"}, HTTP_ACCEPT_LANGUAGE="sv")
    assert response.json()["detail"] == ("Begäran innehåller ett NUL-tecken eller ogiltig Unicode, "
                                         "vilket inte är tillåtet.")


def test_nul_in_a_chat_rating_is_a_400(web, regions, queues):
    conversation = chat.start_conversation(language="sv", name="Ada", email="ada@example.com",
                                           entry_point="widget-europe", check_availability=False)
    chat.end_conversation(conversation_id=conversation.pk, by="visitor")
    url = f"/api/chat/conversations/{conversation.pk}/rating"
    token = {"HTTP_X_CHAT_TOKEN": visitor_token(conversation.pk)}

    response = post_json(web, url, {"rating": "good", "comment": "Bra\x00"}, **token)

    assert response.status_code == 400 and response.json()["detail"] == NUL_REFUSED
    assert post_json(web, url, {"rating": "good", "comment": "Bra"}, **token).status_code == 200


@pytest.mark.parametrize("url", [
    "/api/chat/availability?language=sv&entry_point=widget%00",
    "/api/chat/availability?language=sv&x%00=1",
    "/api/tickets/SD-%00",
    "/api/tickets?q=krasch%00",
])
def test_nul_in_an_api_path_or_query_is_a_json_400(api_client, regions, url):
    api_client.raise_request_exception = False
    response = api_client.get(url)

    assert response.status_code == 400
    assert response.json() == {"code": "bad_request", "detail": NUL_REFUSED}


def test_nul_in_a_page_path_or_a_form_is_a_text_400(agent, web, regions):
    agent.is_staff = True
    agent.save()
    web.force_login(agent)

    page = web.get("/console/tickets/SD-%00/")
    form = web.post("/accounts/login/", "username=agent_sv%00&password=pw",
                    content_type="application/x-www-form-urlencoded")

    for response in (page, form):
        assert response.status_code == 400
        assert response.content.decode() == NUL_REFUSED


def test_nul_in_a_cookie_is_a_400_before_any_session_is_read(web, db):
    web.cookies["sessionid"] = "abc\x00def"
    assert web.get("/console/").status_code == 400


@pytest.mark.parametrize("page", ["99999999999999999999", "9223372036854775807", "1000001"])
def test_a_page_beyond_the_last_possible_one_is_a_422_naming_the_limit(api_client, regions, page):
    api_client.raise_request_exception = False
    response = api_client.get(f"/api/tickets?page={page}")

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["loc"] == ["query", "page"] and "1000000" in error["msg"]
    assert api_client.get("/api/tickets?page=1000000").json()["items"] == []


@pytest.fixture
def api_key(regions, queues):
    _key, raw = feedback.issue_api_key(name="Desktop")
    return raw


@pytest.mark.parametrize("content_type", ["multipart/form-data", "multipart/form-data; boundary="])
def test_a_feedback_report_in_multipart_without_a_boundary_is_a_400_in_the_apis_shape(
        web, api_key, debug, content_type):
    response = web.post("/api/feedback", data=b"user_email=ada@example.org", content_type=content_type,
                        HTTP_X_API_KEY=api_key)

    assert response.status_code == 400
    assert response.json() == {"detail": [{"field": "body", "message": "The body is not valid multipart/form-data."}]}


def test_a_chat_file_in_multipart_without_a_boundary_is_a_400(web, regions, queues, debug):
    conversation = chat.start_conversation(language="sv", name="Ada", email="ada@example.com",
                                           entry_point="widget-europe", check_availability=False)
    response = web.post(f"/api/chat/conversations/{conversation.pk}/attachments", data=b"--x",
                        content_type="multipart/form-data", HTTP_X_CHAT_TOKEN=visitor_token(conversation.pk))

    assert response.status_code == 400
    assert response.json() == {"code": "bad_request", "detail": "The body is not valid multipart/form-data."}


@pytest.mark.parametrize("filename", ["x/", "..", "a/b/\x07/"])
def test_a_feedback_attachment_named_like_a_folder_is_refused_with_the_field(web, api_key, debug, filename):
    attachment = {"filename": filename, "content_type": "text/plain", "content_base64": base64.b64encode(b"x").decode()}
    response = post_json(web, "/api/feedback", {**REPORT, "attachments": [attachment]}, HTTP_X_API_KEY=api_key)

    assert response.status_code == 400
    assert response.json() == {"detail": [{"field": "attachments",
                                           "message": "Attachment 1 needs filename and content_base64."}]}
    assert not Ticket.objects.exists()


def test_a_feedback_attachment_sent_with_a_path_keeps_its_file_name(web, api_key):
    attachment = {"filename": "C:\\logs\\app\n.log", "content_type": "text/plain",
                  "content_base64": base64.b64encode(b"ERR").decode()}
    response = post_json(web, "/api/feedback", {**REPORT, "attachments": [attachment]}, HTTP_X_API_KEY=api_key)

    assert response.status_code == 201, response.content
    stored = Ticket.objects.get().messages.get().attachments.get()
    assert stored.filename == "app .log" and stored.content_type == "text/plain"


def test_a_feedback_report_with_nul_is_a_400_in_the_apis_shape(web, api_key):
    response = post_json(web, "/api/feedback", {**REPORT, "message": "Krasch\x00"}, HTTP_X_API_KEY=api_key)

    assert response.status_code == 400
    assert response.json() == {"detail": [{"field": "body", "message": NUL_REFUSED}]}


@pytest.mark.parametrize("path", ["/api/chat/conversations", "/api/chat/offline"])
def test_control_characters_are_stripped_from_a_visitors_name(web, regions, queues, online_now, path):
    response = post_json(web, path, {**OFFLINE, "name": " Eve\r\nBcc: all@example.com\x1b[2J\u2028 Ek "})

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert Contact.objects.get().name == "Eve Bcc: all@example.com[2J Ek"
    assert "\n" not in ticket.subject and "\r" not in ticket.subject
    if path.endswith("conversations"):
        assert ticket.chat.visitor_name == "Eve Bcc: all@example.com[2J Ek"


@pytest.fixture
def online_now(regions, queues):
    """An online Swedish chat agent in the 24x5 window, so a chat can start."""
    from datetime import UTC, datetime

    import time_machine
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from apps.accounts.services import make_agent
    from apps.routing.models import AgentState

    with time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=UTC), tick=False):
        user = get_user_model().objects.create_user("agent_sv_online")
        make_agent(user=user, languages=["sv"], channels=["chat", "email"])
        AgentState.objects.create(user=user, presence="online", last_seen_at=timezone.now())
        yield user
