"""The widget's HTTP side: starting a chat, the offline and email forms, availability, files, CORS."""

import gzip
import json
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.staticfiles import finders
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from apps.chat.models import Conversation, Entry
from apps.chat.tokens import visitor_token
from apps.console.history import event_detail
from apps.routing.models import AgentState
from apps.sla.models import SlaTarget
from apps.tickets.models import Attachment, Ticket

WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SATURDAY_NOON = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
START = {"language": "sv", "name": "Ada Lind", "email": "ada@example.com", "entry_point": "widget-europe",
         "page_url": "https://example.com/pricing"}


def post(client, path, data, **headers):
    return client.post(path, json.dumps(data), content_type="application/json", **headers)


@pytest.fixture
def chat_open(online_agent):
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        AgentState.objects.filter(user=online_agent).update(last_seen_at=timezone.now())
        yield


def test_starting_a_chat_opens_a_chat_ticket_in_the_live_queue_with_a_one_minute_clock(client, chat_open):
    response = post(client, "/api/chat/conversations", START)
    assert response.status_code == 201, response.content
    body = response.json()
    conversation = Conversation.objects.select_related("ticket__queue").get(pk=body["conversation"])
    assert body["websocket"] == f"/ws/chat/{conversation.pk}/" and body["ticket"] == conversation.ticket.reference
    ticket = conversation.ticket
    assert (ticket.channel, ticket.language, ticket.region.slug, ticket.queue.kind) == ("chat", "sv", "europe", "live")
    assert ticket.external_ref == f"chat:{conversation.pk}"
    first_response = ticket.sla_targets.get(kind=SlaTarget.Kind.FIRST_RESPONSE)
    assert first_response.due_at == WEDNESDAY_NOON + timedelta(minutes=1)
    assert ticket.offers.filter(status="pending").exists()        # offered to the online agent
    assert conversation.visitor_email == "ada@example.com" and conversation.page_url == START["page_url"]


def test_the_browsers_time_zone_is_kept_for_the_transcript_and_a_bogus_one_ignored(client, chat_open):
    kept = post(client, "/api/chat/conversations", {**START, "time_zone": "Europe/Stockholm"}).json()
    bogus = post(client, "/api/chat/conversations", {**START, "email": "b@example.com", "time_zone": "../etc/x"})
    assert bogus.status_code == 201
    zones = dict(Conversation.objects.values_list("pk", "visitor_time_zone"))
    assert sorted(zones.values()) == ["", "Europe/Stockholm"] and zones[uuid.UUID(kept["conversation"])]


def test_an_ended_chat_is_rated_by_its_visitor_and_the_agents_see_it_on_the_ticket(client, chat_open):
    from apps.chat.services import end_conversation

    start = post(client, "/api/chat/conversations", START).json()
    url = f"/api/chat/conversations/{start['conversation']}/rating"
    token = {"HTTP_X_CHAT_TOKEN": start["token"]}
    assert post(client, url, {"rating": "good"}, **token).json()["code"] == "not_ended"      # 409
    end_conversation(conversation_id=start["conversation"], by="visitor")
    assert post(client, url, {"rating": "good"}).status_code == 401
    assert post(client, url, {"rating": "great"}, **token).status_code == 400
    rated = post(client, url, {"rating": "bad", "comment": "  Fick vänta länge.  "}, **token,
                 HTTP_ACCEPT_LANGUAGE="es")
    assert rated.status_code == 200 and rated.json() == {"rating": "bad"}
    conversation = Conversation.objects.get(pk=start["conversation"])
    assert (conversation.rating, conversation.rating_comment) == ("bad", "Fick vänta länge.")
    rated = conversation.ticket.events.filter(kind="chat", data__event="rated").latest("pk")
    assert (rated.details.rating, rated.details.comment) == ("bad", "Fick vänta länge.")
    # In the reader's language, whatever language the visitor's request came in.
    with translation.override("sv"):
        assert event_detail(rated) == "besökaren betygsatte chatten: Dålig “Fick vänta länge.”"
    assert post(client, url, {"rating": "good"}, **token).status_code == 200                # changed their mind
    assert Conversation.objects.get(pk=start["conversation"]).rating == "good"


def test_a_chat_rated_after_its_ticket_was_merged_is_rated_on_the_survivor(client, chat_open):
    from django.contrib.auth import get_user_model

    from apps.accounts.services import make_agent
    from apps.chat.services import end_conversation
    from apps.desk import actions

    manager = get_user_model().objects.create_user("chat_manager", password="pw")
    make_agent(user=manager, languages=["sv"], channels=["chat", "email"], manager=True)
    start = post(client, "/api/chat/conversations", START).json()
    end_conversation(conversation_id=start["conversation"], by="visitor")
    chat = Conversation.objects.get(pk=start["conversation"]).ticket
    mail = actions.open_ticket(channel="email", contact=chat.contact, subject="Fakturan", body="Fakturan är fel.",
                               external_ref="<faktura@example.org>", language="sv")
    actions.merge_tickets(ticket=chat, into=mail, user=manager)

    rated = post(client, f"/api/chat/conversations/{start['conversation']}/rating", {"rating": "good"},
                 HTTP_X_CHAT_TOKEN=start["token"])

    assert rated.status_code == 200
    assert mail.events.filter(kind="chat", data__event="rated").exists()
    assert not chat.events.filter(kind="chat", data__event="rated").exists()


def test_a_token_grants_its_conversation_and_no_other(client, chat_open):
    first = post(client, "/api/chat/conversations", START).json()
    second = post(client, "/api/chat/conversations", {**START, "email": "bo@example.com"}).json()
    upload = SimpleUploadedFile("log.txt", b"boom", content_type="text/plain")
    response = client.post(f"/api/chat/conversations/{second['conversation']}/attachments",
                           {"client_id": "f1", "file": upload}, HTTP_X_CHAT_TOKEN=first["token"])
    assert response.status_code == 403


def test_outside_the_24x5_window_the_widget_is_told_to_show_the_offline_form(client, online_agent):
    with time_machine.travel(SATURDAY_NOON, tick=False):
        AgentState.objects.filter(user=online_agent).update(last_seen_at=timezone.now())
        availability = client.get("/api/chat/availability?language=sv&entry_point=widget-europe").json()
        response = post(client, "/api/chat/conversations", START)
    assert availability["mode"] == "offline" and availability["reason"] == "closed"
    assert availability["next_opening"].startswith("2026-11-29T22:00")     # Monday 06:00 in Kuala Lumpur
    assert response.status_code == 409 and response.json()["mode"] == "offline"
    assert not Ticket.objects.exists()


def test_with_no_agent_online_for_the_language_the_offline_form_is_shown(client, online_agent):
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        availability = client.get("/api/chat/availability?language=de&entry_point=widget-europe").json()
    assert (availability["mode"], availability["reason"]) == ("offline", "no_agents")


def test_the_offline_form_opens_an_email_ticket_with_the_eight_hour_target_once(client, online_agent):
    form = {**START, "message": "Kan ni ringa mig?\nTack", "request_id": "form-1"}
    with time_machine.travel(SATURDAY_NOON, tick=False):
        first = post(client, "/api/chat/offline", form)
        again = post(client, "/api/chat/offline", form)
    assert first.status_code == 201 and again.json() == first.json()
    ticket = Ticket.objects.get(reference=first.json()["reference"])
    assert (ticket.channel, ticket.subject, ticket.queue.kind) == ("email", "Kan ni ringa mig?", "async")
    assert ticket.sla_targets.get(kind=SlaTarget.Kind.FIRST_RESPONSE).target_seconds == 8 * 3600


def test_chinese_visitors_get_the_email_form_which_opens_an_email_ticket_in_chinese(client, chat_open):
    availability = client.get("/api/chat/availability?language=zh-hans&entry_point=widget-malaysia").json()
    assert availability["mode"] == "email"
    refused = post(client, "/api/chat/conversations", {**START, "language": "zh-hans"})
    assert refused.status_code == 409 and refused.json()["mode"] == "email"
    response = post(client, "/api/chat/offline", {**START, "language": "zh-hans", "entry_point": "widget-malaysia",
                                                  "message": "软件无法启动"})
    ticket = Ticket.objects.get(reference=response.json()["reference"])
    assert (ticket.channel, ticket.language, ticket.region.slug) == ("email", "zh-hans", "malaysia")


def test_bad_fields_get_400_with_a_code(client, chat_open):
    assert post(client, "/api/chat/conversations", {**START, "email": "nope"}).json()["code"] == "bad_email"
    assert post(client, "/api/chat/conversations", {**START, "language": "fi"}).json()["code"] == "bad_language"
    assert post(client, "/api/chat/offline", {**START, "message": " "}).json()["code"] == "bad_message"


def test_conversation_starts_are_limited_per_address(client, chat_open, settings):
    settings.CHAT_IP_CONVERSATIONS_PER_HOUR = 2
    from django.core.cache import cache

    cache.clear()
    codes = [post(client, "/api/chat/conversations", {**START, "email": f"v{n}@example.com"}).status_code
             for n in range(3)]
    assert codes == [201, 201, 429]


def test_the_count_of_starts_goes_when_its_hour_ends(client, chat_open, settings):
    """The count is the clock hour's: kept past 11:00 it would only hold memory (and a stale count) for an hour."""
    from django.core.cache import cache

    cache.clear()
    with time_machine.travel(datetime(2026, 3, 10, 10, 59, 30, tzinfo=UTC), tick=False):
        assert post(client, "/api/chat/conversations", START).status_code == 201
        key = f"chat:starts:127.0.0.1:{int(time.time() // 3600)}"
        assert cache.get(key) == 1
        if settings.REDIS_URL:
            import redis

            assert 0 < redis.Redis.from_url(settings.REDIS_URL).ttl(cache.make_and_validate_key(key)) <= 31
    if not settings.REDIS_URL:
        with time_machine.travel(datetime(2026, 3, 10, 11, 0, 2, tzinfo=UTC), tick=False):
            assert cache.get(key) is None


def test_attachments_are_checked_stored_in_sequence_and_downloaded_only_with_the_token(client, chat_open, settings):
    settings.CHAT_MAX_ATTACHMENT_BYTES = 1000
    start = post(client, "/api/chat/conversations", START).json()
    url = f"/api/chat/conversations/{start['conversation']}/attachments"
    token = {"HTTP_X_CHAT_TOKEN": start["token"]}

    def upload(name, data, content_type, client_id="f1", **headers):
        return client.post(url, {"client_id": client_id, "file": SimpleUploadedFile(name, data, content_type)},
                           **headers)

    assert upload("big.png", b"x" * 1001, "image/png", **token).status_code == 413
    assert upload("run.exe", b"MZ", "application/x-msdownload", **token).status_code == 415
    assert upload("shot.png", b"\x89PNG", "image/png").status_code == 401
    response = upload("shot.png", b"\x89PNG", "image/png", **token)
    assert response.status_code == 201, response.content
    ack = response.json()
    assert ack["seq"] == 1 and ack["attachments"][0]["filename"] == "shot.png"
    assert upload("shot.png", b"\x89PNG", "image/png", **token).json()["duplicate"] is True
    assert Entry.objects.get(conversation_id=start["conversation"]).message.attachments.count() == 1
    attachment = Attachment.objects.get()
    download = f"{url}/{attachment.pk}"
    assert client.get(download).status_code == 401
    got = client.get(f"{download}?token={start['token']}")
    assert got.status_code == 200 and b"".join(got.streaming_content) == b"\x89PNG"
    assert got["Content-Disposition"].startswith("attachment") and got["Content-Type"] == "application/octet-stream"


def test_other_sites_may_call_the_chat_api_without_credentials(client, chat_open):
    preflight = client.options("/api/chat/conversations", HTTP_ORIGIN="https://shop.example.net",
                               HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Origin"] == "https://shop.example.net"
    assert "X-Chat-Token" in preflight["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Credentials" not in preflight
    staff = client.get("/api/tickets", HTTP_ORIGIN="https://shop.example.net")
    assert "Access-Control-Allow-Origin" not in staff


def test_the_widget_script_is_small_and_the_demo_page_embeds_it_with_one_tag(client, db):
    script = Path(finders.find("widget/widget.js")).read_bytes()
    assert len(gzip.compress(script)) < 30 * 1024
    page = client.get("/widget/demo/").content.decode()
    assert page.count('src="/static/widget/widget.js"') == 1 and 'data-entry-point="widget-europe"' in page
    assert client.get("/static/widget/widget.js").status_code == 200


def test_visitor_tokens_expire(chat_open, settings):
    from apps.chat.tokens import TokenExpired, check_visitor_token

    settings.CHAT_TOKEN_MAX_AGE_SECONDS = 60
    conversation_id = "6f1c1f9e-8d3c-4c86-9a43-2d9d6f0d9a10"
    token = visitor_token(conversation_id)
    with time_machine.travel(WEDNESDAY_NOON + timedelta(minutes=2)), pytest.raises(TokenExpired):
        check_visitor_token(token, conversation_id)


def test_errors_come_in_the_widgets_language_not_the_browsers(client, chat_open):
    english = {"HTTP_ACCEPT_LANGUAGE": "en"}
    german = post(client, "/api/chat/conversations", {**START, "language": "de"}, **english)   # no German agent
    start = post(client, "/api/chat/conversations", START, **english).json()
    early = post(client, f"/api/chat/conversations/{start['conversation']}/rating", {"rating": "good"},
                 HTTP_X_CHAT_TOKEN=start["token"], **english)
    bad_email = post(client, "/api/chat/offline", {**START, "language": "es", "email": "nope", "message": "Hola"},
                     **english)
    assert (german.status_code, early.status_code, bad_email.status_code) == (409, 409, 400)
    with translation.override("de"):
        assert german.json()["detail"] == translation.gettext("Chat is not available now; please leave a message.")
    with translation.override("sv"):
        assert early.json()["detail"] == translation.gettext("A chat can be rated once it has ended.")
    with translation.override("es"):
        assert bad_email.json()["detail"] == translation.gettext("Please give a valid email address.")
    assert german.json()["detail"] != "Chat is not available now; please leave a message."
    assert early.json()["detail"] != "A chat can be rated once it has ended."
    assert bad_email.json()["detail"] != "Please give a valid email address."
