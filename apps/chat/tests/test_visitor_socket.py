"""The visitor's socket and the agent's chat frames, over the real Redis channel layer and PostgreSQL."""

import asyncio
from datetime import timedelta
from email.utils import parseaddr
from zoneinfo import ZoneInfo

import pytest
import time_machine
from channels.db import database_sync_to_async
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone, translation

from apps.accounts.names import display_name
from apps.accounts.services import make_agent
from apps.chat.models import Conversation, Entry
from apps.chat.tests.conftest import agent_socket, frames_until, run, start, visitor_socket
from apps.chat.tokens import visitor_token
from apps.console.history import event_detail
from apps.sla.models import SlaTarget
from apps.tickets import vocabulary
from apps.tickets.models import Message

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("flushed_layer")]


def test_a_valid_token_connects_and_the_hello_tells_the_state(conversation):
    async def scenario():
        socket, connected, _ = await visitor_socket(conversation.pk)
        assert connected
        hello = await socket.receive_json_from()
        assert hello["type"] == "hello" and hello["conversation"] == str(conversation.pk)
        assert hello["last_seq"] == 0 and hello["agent"] == {"name": "Sara Berg"}
        await socket.disconnect()
    run(scenario)


def test_a_token_for_another_conversation_is_refused_with_4403(conversation):
    other = start(email="bo@example.com")

    async def scenario():
        socket, connected, _ = await visitor_socket(conversation.pk, token=visitor_token(other.pk))
        assert connected      # accepted only to say why, then closed
        error = await socket.receive_json_from()
        assert error == {"type": "error", "code": "token_other_conversation", "detail": error["detail"]}
        assert (await socket.receive_output())["code"] == 4403
    run(scenario)


def test_a_forged_token_is_refused_with_4401(conversation):
    async def scenario():
        socket, _, _ = await visitor_socket(conversation.pk, token="not-a-token")
        assert (await socket.receive_json_from())["code"] == "token_invalid"
        assert (await socket.receive_output())["code"] == 4401
    run(scenario)


def test_an_expired_token_gets_an_error_frame_and_4401(conversation, settings):
    settings.CHAT_TOKEN_MAX_AGE_SECONDS = 3600
    with time_machine.travel(timezone.now() - timedelta(hours=2)):
        old = visitor_token(conversation.pk)

    async def scenario():
        socket, _, _ = await visitor_socket(conversation.pk, token=old)
        error = await socket.receive_json_from()
        assert error["code"] == "token_expired" and "expired" in error["detail"]
        assert (await socket.receive_output())["code"] == 4401
    run(scenario)


def test_visitor_messages_are_stored_before_the_agent_gets_them_in_order(conversation, online_agent):
    reference = conversation.ticket.reference

    async def scenario():
        agent = await agent_socket(online_agent)
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        for n in range(5):
            await visitor.send_json_to({"type": "message", "client_id": f"v{n}", "body": f"Hej {n}"})
        acks = [await frames_until(visitor, lambda f: f["type"] == "ack") for _ in range(5)]
        assert [a["seq"] for a in acks] == [1, 2, 3, 4, 5]
        got = [await frames_until(agent, lambda f: f["type"] == "chat.message") for _ in range(5)]
        assert [(f["seq"], f["body"], f["from"]) for f in got] == [(n + 1, f"Hej {n}", "visitor") for n in range(5)]
        assert got[0]["ticket"] == reference
        stored = await database_sync_to_async(lambda: list(
            Entry.objects.filter(conversation=conversation).order_by("seq")
            .values_list("seq", "message__body_text", "message__direction")))()
        assert stored == [(n + 1, f"Hej {n}", "inbound") for n in range(5)]
        await visitor.disconnect()
        await agent.disconnect()
    run(scenario)


def test_the_agents_first_chat_message_reaches_the_visitor_and_meets_the_one_minute_target(conversation, online_agent):
    async def scenario():
        agent = await agent_socket(online_agent)
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        await agent.send_json_to({"type": "chat.send", "ticket": conversation.ticket.reference,
                                  "client_id": "a1", "body": "Hej Ada, hur kan jag hjälpa dig?"})
        ack = await frames_until(agent, lambda f: f["type"] == "chat.ack")
        assert ack["seq"] == 1 and ack["duplicate"] is False
        message = await frames_until(visitor, lambda f: f["type"] == "message")
        assert (message["seq"], message["from"], message["author"]) == (1, "agent", "Sara Berg")
        assert message["body"] == "Hej Ada, hur kan jag hjälpa dig?"
        await visitor.disconnect()
        await agent.disconnect()
    run(scenario)
    target = SlaTarget.objects.get(ticket=conversation.ticket, kind=SlaTarget.Kind.FIRST_RESPONSE)
    assert target.met_at is not None and target.met_at <= target.due_at
    assert Conversation.objects.get(pk=conversation.pk).state == Conversation.State.ACTIVE


def test_resume_after_n_replays_only_the_later_messages_in_order(conversation, online_agent):
    from apps.chat import services

    for n in range(6):
        sender, user = ("agent", online_agent.pk) if n % 2 else ("visitor", None)
        services.store_message(services.Outgoing(conversation_id=str(conversation.pk), sender=sender,
                                                 body=f"line {n}", client_id=f"c{n}", user_id=user))

    async def scenario():
        visitor, _, _ = await visitor_socket(conversation.pk, after=3)
        assert (await visitor.receive_json_from())["last_seq"] == 6
        replay = [await visitor.receive_json_from() for _ in range(4)]
        assert [(f["type"], f["seq"], f["body"]) for f in replay[:3]] == [
            ("message", 4, "line 3"), ("message", 5, "line 4"), ("message", 6, "line 5")]
        assert replay[3] == {"type": "resumed", "after": 3, "count": 3, "last_seq": 6, "state": "active"}
        await visitor.send_json_to({"type": "resume", "after": 5})
        assert (await visitor.receive_json_from())["seq"] == 6
        assert (await visitor.receive_json_from())["type"] == "resumed"
        await visitor.disconnect()
    run(scenario)


def test_chat_ping_tells_the_console_how_far_the_conversation_is(conversation, online_agent):
    """Pushes lost while Redis is away leave no gap the panel could see: the ping's last_seq shows it."""
    from apps.chat import services

    services.store_message(services.Outgoing(conversation_id=str(conversation.pk), sender="visitor",
                                             body="hörs jag?", client_id="c1"))

    async def scenario():
        agent = await agent_socket(online_agent)
        await agent.send_json_to({"type": "chat.ping", "ticket": conversation.ticket.reference})
        state = await frames_until(agent, lambda f: f["type"] == "chat.state")
        # Only reads: unlike chat.resume it does not announce the agent to the visitor.
        assert (state["ticket"], state["last_seq"], state["state"]) == (conversation.ticket.reference, 1, "waiting")
        await agent.disconnect()
    run(scenario)


def test_a_resent_client_id_is_stored_once_and_acknowledged_again(conversation, online_agent):
    async def scenario():
        agent = await agent_socket(online_agent)
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        frame = {"type": "message", "client_id": "same-id", "body": "Only once"}
        await visitor.send_json_to(frame)
        first = await frames_until(visitor, lambda f: f["type"] == "ack")
        await visitor.disconnect()
        again, _, _ = await visitor_socket(conversation.pk, after=0)   # reconnect, resend
        await again.send_json_to(frame)
        frames = [await again.receive_json_from() for _ in range(4)]
        ack = [f for f in frames if f["type"] == "ack"][0]
        assert (ack["seq"], ack["id"], ack["duplicate"]) == (first["seq"], first["id"], True)
        await frames_until(agent, lambda f: f["type"] == "chat.message")
        assert await agent.receive_nothing(timeout=0.3)       # the agent saw it once
        await again.disconnect()
        await agent.disconnect()
    run(scenario)
    assert Message.objects.filter(ticket=conversation.ticket, body_text="Only once").count() == 1


def test_bad_frames_get_error_frames_and_the_socket_keeps_working(conversation, settings):
    settings.CHAT_MAX_FRAME_BYTES = 2000

    async def scenario():
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        cases = [
            ("x" * 3000, "too_large"), ("{not json", "bad_json"), ("[1, 2]", "bad_frame"),
            ('{"type": "launch"}', "unknown_type"), ('{"type": "message", "body": "no id"}', "bad_frame"),
            ('{"type": "message", "client_id": "e1", "body": "   "}', "empty"),
            ('{"type": "message", "client_id": "e2", "body": "' + "y" * 1900 + '"}', "too_long"),
            ('{"type": "resume", "after": "x"}', "bad_frame"),
        ]
        settings.CHAT_MAX_MESSAGE_CHARS = 1000
        for text, code in cases:
            await visitor.send_to(text_data=text)
            assert (await visitor.receive_json_from())["code"] == code, text[:40]
        await visitor.send_to(bytes_data=b"\x00\x01")
        assert (await visitor.receive_json_from())["code"] == "bad_frame"
        await visitor.send_json_to({"type": "message", "client_id": "ok", "body": "<b>still</b> here"})
        ack = await visitor.receive_json_from()
        assert ack["type"] == "ack" and ack["seq"] == 1
        await visitor.disconnect()
    run(scenario)
    # Stored as text, exactly as typed: escaping is the renderer's job.
    assert Message.objects.get(ticket=conversation.ticket).body_text == "<b>still</b> here"


def test_messages_over_the_rate_are_refused_with_retry_after_and_floods_are_closed(conversation, settings):
    settings.CHAT_VISITOR_MESSAGES_PER_MINUTE = 6
    settings.CHAT_MESSAGE_BURST = 3
    settings.CHAT_FRAMES_PER_SECOND = 5

    async def scenario():
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        results = []
        for n in range(5):
            await visitor.send_json_to({"type": "message", "client_id": f"r{n}", "body": "spam"})
            results.append(await visitor.receive_json_from())
        assert [r["type"] for r in results] == ["ack", "ack", "ack", "error", "error"]
        assert results[3]["code"] == "rate_limited" and results[3]["retry_after"] > 0
        for _ in range(60):
            await visitor.send_json_to({"type": "typing"})
        output = None
        while True:
            output = await visitor.receive_output(timeout=3)
            if output["type"] == "websocket.close":
                break
        assert output["code"] == 4429
    run(scenario)
    assert Entry.objects.filter(conversation=conversation).count() == 3


def test_an_ended_chat_refuses_messages_and_keeps_its_transcript(conversation, online_agent):
    reference = conversation.ticket.reference

    async def scenario():
        agent = await agent_socket(online_agent)
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        await visitor.send_json_to({"type": "message", "client_id": "m1", "body": "Tack, det löste sig"})
        await frames_until(visitor, lambda f: f["type"] == "ack")
        await visitor.send_json_to({"type": "end"})
        assert (await frames_until(visitor, lambda f: f["type"] == "ended"))["by"] == "visitor"
        assert (await frames_until(agent, lambda f: f["type"] == "chat.ended"))["ticket"] == reference
        await visitor.send_json_to({"type": "message", "client_id": "m2", "body": "one more"})
        assert (await frames_until(visitor, lambda f: f["type"] == "error"))["code"] == "closed"
        await visitor.disconnect()
        await agent.disconnect()
    run(scenario)
    bodies = list(Message.objects.filter(ticket=conversation.ticket).values_list("body_text", flat=True))
    assert bodies == ["Tack, det löste sig"]        # the transcript holds what was written, nothing else
    ended = conversation.ticket.events.get(kind="chat")
    assert ended.details == vocabulary.Chat(event="ended", by="visitor")
    with translation.override("de"):               # each reader reads the history in their language
        assert event_detail(ended) == "der Besucher hat den Chat beendet"


def test_a_reply_from_the_console_form_reaches_the_visitor_with_the_next_number(conversation, online_agent,
                                                                                settings, tmp_path):
    from apps.console.services import reply

    settings.MEDIA_ROOT = tmp_path

    async def scenario():
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        await database_sync_to_async(reply)(ticket=conversation.ticket, user=online_agent, body="Hej från formuläret",
                                            files=[SimpleUploadedFile("guide.pdf", b"%PDF", "application/pdf")])
        message = await frames_until(visitor, lambda f: f["type"] == "message")
        assert (message["seq"], message["body"], message["from"]) == (1, "Hej från formuläret", "agent")
        assert [file["filename"] for file in message["attachments"]] == ["guide.pdf"]
        await visitor.disconnect()
    run(scenario)


def test_a_file_the_agent_sends_from_the_console_reaches_the_visitor(conversation, online_agent, client, settings,
                                                                     tmp_path):
    settings.MEDIA_ROOT, settings.CHAT_MAX_ATTACHMENT_BYTES = tmp_path, 1000
    url = f"/console/tickets/{conversation.ticket.reference}/chat/attachments/"

    def upload(name, data, content_type, client_id="a1"):
        return client.post(url, {"client_id": client_id, "file": SimpleUploadedFile(name, data, content_type)})

    assert upload("guide.pdf", b"%PDF", "application/pdf").status_code == 302     # to the sign-in page
    client.force_login(online_agent)

    async def scenario():
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        response = await database_sync_to_async(upload)("guide.pdf", b"%PDF-1.7", "application/pdf")
        assert response.status_code == 201, response.content
        ack = response.json()
        assert (ack["type"], ack["client_id"], ack["seq"]) == ("chat.ack", "a1", 1)
        message = await frames_until(visitor, lambda f: f["type"] == "message")
        assert (message["seq"], message["from"], message["body"]) == (1, "agent", "guide.pdf")
        assert message["attachments"] == ack["attachments"] and message["attachments"][0]["filename"] == "guide.pdf"
        await visitor.disconnect()
        return message["attachments"][0]["id"]
    file_id = run(scenario)
    download = client.get(f"/api/chat/conversations/{conversation.pk}/attachments/{file_id}"
                          f"?token={visitor_token(conversation.pk)}")
    assert b"".join(download.streaming_content) == b"%PDF-1.7"
    assert upload("guide.pdf", b"%PDF-1.7", "application/pdf").json()["duplicate"] is True     # a resend
    assert (upload("big.pdf", b"x" * 1001, "application/pdf").status_code,
            upload("run.exe", b"MZ", "application/x-msdownload").json()["code"]) == (413, "bad_type")
    assert client.post(url, {"client_id": "a2"}).status_code == 400
    colleague = get_user_model().objects.create_user("agent_sv2", is_staff=True)
    make_agent(user=colleague, languages=["sv"], channels=["chat"])
    client.force_login(colleague)
    assert upload("x.pdf", b"%PDF", "application/pdf", client_id="c1").json()["code"] == "not_assignee"
    german = get_user_model().objects.create_user("agent_de", is_staff=True)
    make_agent(user=german, languages=["de"], channels=["chat"])
    client.force_login(german)
    assert upload("x.pdf", b"%PDF", "application/pdf", client_id="d1").status_code == 404
    assert Entry.objects.filter(conversation=conversation).count() == 1


def test_typing_and_read_marks_travel_both_ways(conversation, online_agent):
    async def scenario():
        agent = await agent_socket(online_agent)
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        ref = conversation.ticket.reference
        await visitor.send_json_to({"type": "typing"})
        assert (await frames_until(agent, lambda f: f["type"] == "chat.typing"))["ticket"] == ref
        await agent.send_json_to({"type": "chat.typing", "ticket": ref})
        assert (await frames_until(visitor, lambda f: f["type"] == "typing"))["from"] == "agent"
        await agent.send_json_to({"type": "chat.send", "ticket": ref, "client_id": "a1", "body": "Hej"})
        await frames_until(visitor, lambda f: f["type"] == "message")
        await visitor.send_json_to({"type": "read", "seq": 1})
        read = await frames_until(agent, lambda f: f["type"] == "chat.read")
        assert (read["by"], read["seq"]) == ("visitor", 1)
        await visitor.disconnect()
        await agent.disconnect()
    run(scenario)


def another_transaction_holding(conversation):
    """Another process's open transaction that holds the conversation: its row lock on PostgreSQL,
    the database's write lock on SQLite (which has no row locks)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        import sqlite3

        blocker = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None, check_same_thread=False)
        blocker.execute("BEGIN IMMEDIATE")
        return blocker
    import psycopg

    blocker = psycopg.connect(**{key: value for key, value in connection.get_connection_params().items()
                                 if key not in ("cursor_factory", "context", "prepare_threshold")})
    blocker.execute("SELECT 1 FROM chat_conversation WHERE id = %s FOR UPDATE", [conversation.pk])
    return blocker


def test_pushes_reach_a_socket_while_its_own_line_is_still_being_stored(conversation, online_agent):
    """The visitor's line waits on a lock held elsewhere; the agent's typing still gets through."""
    blocker = None

    async def scenario():
        nonlocal blocker
        agent = await agent_socket(online_agent)
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        blocker = another_transaction_holding(conversation)
        await visitor.send_json_to({"type": "message", "client_id": "v1", "body": "Hej"})
        await agent.send_json_to({"type": "chat.typing", "ticket": conversation.ticket.reference})
        first = await visitor.receive_json_from(timeout=3)
        assert (first["type"], first["from"]) == ("typing", "agent")
        # Not on the sync thread: on SQLite the line's write waits there for this very lock.
        await asyncio.to_thread(blocker.rollback)
        ack = await visitor.receive_json_from(timeout=5)
        assert (ack["type"], ack["seq"], ack["duplicate"]) == ("ack", 1, False)
        await visitor.disconnect()
        await agent.disconnect()

    try:
        run(scenario)
    finally:
        if blocker is not None:
            blocker.close()


def test_an_agent_who_has_not_taken_the_chat_cannot_write_in_it(online_agent, regions, queues):
    conversation = start()

    async def scenario():
        agent = await agent_socket(online_agent)
        await agent.send_json_to({"type": "chat.send", "ticket": conversation.ticket.reference,
                                  "client_id": "x", "body": "hej"})
        error = await frames_until(agent, lambda f: f["type"] == "error")
        assert error["code"] == "not_assignee" and error["client_id"] == "x"
        await agent.disconnect()
    run(scenario)


def test_the_transcript_is_emailed_in_the_chats_language(conversation, online_agent, redis_queues, mailoutbox,
                                                          settings, tmp_path):
    from apps.chat import services
    from conftest import run_worker

    settings.MEDIA_ROOT = tmp_path
    Conversation.objects.filter(pk=conversation.pk).update(visitor_time_zone="Europe/Stockholm")
    asked = services.store_message(services.Outgoing(conversation_id=str(conversation.pk), sender="visitor",
                                                     body="Hur byter jag licens?", client_id="t1"))
    services.store_message(services.Outgoing(conversation_id=str(conversation.pk), sender="agent",
                                             body="Under Inställningar.", client_id="t2", user_id=online_agent.pk))
    services.store_message(services.received_upload(
        SimpleUploadedFile("licens.pdf", b"%PDF", "application/pdf"), sender="agent", client_id="t3",
        conversation_id=conversation.pk, user_id=online_agent.pk))

    async def scenario():
        visitor, _, _ = await visitor_socket(conversation.pk)
        await visitor.receive_json_from()
        await visitor.send_json_to({"type": "transcript"})
        assert (await visitor.receive_json_from()) == {"type": "transcript", "email": "ada@example.com"}
        await visitor.send_json_to({"type": "transcript"})
        assert (await visitor.receive_json_from())["code"] == "rate_limited"
        await visitor.disconnect()
    run(scenario)
    run_worker("mail")
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ada@example.com"] and f"[{conversation.ticket.reference}]" in mail.subject
    assert mail.from_email == "support-eu@example.com"       # the region's mailbox: an answer reaches the desk
    assert "Hur byter jag licens?" in mail.body and "Sara Berg: Under Inställningar." in mail.body
    # In the visitor's own zone (from the browser), and a file by its name once.
    local = asked.at.astimezone(ZoneInfo("Europe/Stockholm"))
    assert f"[{local:%Y-%m-%d %H:%M} {local.tzname()}] Du: Hur byter jag licens?" in mail.body
    assert "Sara Berg:\n  📎 licens.pdf" in mail.body


def test_a_reply_after_the_chat_ended_follows_up_by_email_and_the_answer_comes_back(
        conversation, online_agent, redis_queues, mailoutbox, client):
    from apps.chat import services
    from apps.console.services import reply
    from apps.mail.filing import ingest_email
    from apps.mail.tests.conftest import build_email
    from conftest import run_worker

    services.end_conversation(conversation_id=conversation.pk, by="visitor")
    client.force_login(online_agent)
    page = client.get(f"/console/tickets/{conversation.ticket.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "The chat has ended: a reply goes to ada@example.com by email." in page       # the agent is told
    message = reply(ticket=conversation.ticket, user=online_agent, body="Vi har hittat felet; uppdatera till 12.4.")
    assert not Entry.objects.filter(message=message).exists()       # not into a chat nobody is in
    run_worker("mail")
    (mail,) = mailoutbox
    reference = conversation.ticket.reference
    assert mail.to == ["ada@example.com"] and f"[{reference}]" in mail.subject
    name, address = parseaddr(mail.from_email)
    assert address == "support-eu@example.com" and name.startswith(display_name(online_agent) + ", ")  # who wrote
    assert mail.body.startswith("Vi har hittat felet; uppdatera till 12.4.")
    answer = ingest_email(raw=build_email(sender="ada@example.com", to=address, subject=f"Re: {mail.subject}",
                                          body="Tack, nu fungerar det!", in_reply_to=mail.extra_headers["Message-ID"]),
                          source="file")
    assert answer.ticket_id == conversation.ticket_id


def test_a_chat_nobody_writes_in_is_ended_by_the_desk_after_the_idle_time(conversation, online_agent, settings):
    from apps.chat import services
    from apps.chat.jobs import end_idle_chats_job
    from apps.chat.tests.conftest import start as start_chat

    settings.CHAT_IDLE_END_MINUTES = 30
    last_line = timezone.now()
    with time_machine.travel(last_line, tick=False):
        services.store_message(services.Outgoing(conversation_id=str(conversation.pk), sender="agent",
                                                 body="Något mer?", client_id="i1", user_id=online_agent.pk))
    waiting = start_chat(email="queue@example.com")         # nobody has taken it: the queue's business
    assert services.end_idle_conversations(now=last_line + timedelta(minutes=29)) == 0
    assert services.end_idle_conversations(now=last_line + timedelta(minutes=31)) == 1
    conversation.refresh_from_db()
    assert (conversation.state, conversation.ended_by) == ("ended", "desk")
    ended = conversation.ticket.events.get(kind="chat")
    assert (ended.details.by, ended.details.idle_minutes) == ("desk", 30)
    with translation.override("sv"):
        assert event_detail(ended) == "chatten avslutades efter 30 minuter utan meddelanden"
    assert not Message.objects.filter(ticket=conversation.ticket, direction="note").exists()
    with time_machine.travel(last_line + timedelta(hours=2), tick=False):
        assert end_idle_chats_job() == 0                    # the waiting chat stays
    assert Conversation.objects.get(pk=waiting.pk).state == "waiting"
    settings.CHAT_IDLE_END_MINUTES = 0
    assert services.end_idle_conversations(now=last_line + timedelta(days=9)) == 0
