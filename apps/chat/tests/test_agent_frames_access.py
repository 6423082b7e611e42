"""Two agents on one daphne process: a chat one of them opened stays closed to the other.

The process keeps which conversation a reference names; that cache once skipped the
access check too, so after agent_sv opened an sv chat, agent_de on the same process
could replay it, type into it and end it. A real daphne on the test database, with
real websocket clients (aiohttp) signed in by session cookies.
"""

import asyncio
import json

import aiohttp
import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from apps.accounts.services import make_agent
from apps.chat.models import Conversation
from apps.chat.tokens import visitor_token
from tests.browser.conftest import desk_server  # noqa: F401  (the fixture)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("flushed_layer")]

DENIED = ["chat.resume", "chat.typing", "chat.read", "chat.ping", "chat.end", "chat.send"]


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def frames_until(socket, predicate, seen=None):
    while True:
        frame = json.loads((await socket.receive(timeout=10)).data)
        if seen is not None:
            seen.append(frame)
        if predicate(frame):
            return frame


def test_an_agent_outside_the_chats_language_is_refused_every_frame_after_its_agent_opened_it(
        desk_server, conversation, online_agent):   # noqa: F811
    german = get_user_model().objects.create_user("agent_de")
    make_agent(user=german, languages=["de"], channels=["chat", "email"])
    reference = conversation.ticket.reference
    origin = desk_server
    ws = desk_server.replace("http://", "ws://")
    cookies = {"sv": session_cookie(online_agent), "de": session_cookie(german)}

    async def scenario():
        async with aiohttp.ClientSession() as http:
            def console(who):
                return http.ws_connect(f"{ws}/ws/console/", headers={"Cookie": cookies[who], "Origin": origin})

            visitor = await http.ws_connect(f"{ws}/ws/chat/{conversation.pk}/?token={visitor_token(conversation.pk)}",
                                            headers={"Origin": origin})
            await frames_until(visitor, lambda f: f["type"] == "hello")
            async with console("sv") as sv, console("de") as de:
                await frames_until(sv, lambda f: f["type"] == "hello")
                await frames_until(de, lambda f: f["type"] == "hello")
                # agent_sv opens the chat: this process now knows the reference's conversation.
                await sv.send_json({"type": "chat.resume", "ticket": reference, "after": 0})
                assert (await frames_until(sv, lambda f: f["type"] == "chat.state"))["ticket"] == reference

                answers = []
                for kind in DENIED:
                    await de.send_json({"type": kind, "ticket": reference, "after": 0, "seq": 0,
                                        "client_id": "de-1", "body": "Hallo"})
                    answers.append(await frames_until(de, lambda f: f["type"] == "error"))
                # agent_sv's line reaches the visitor after anything agent_de's frames could have pushed.
                await sv.send_json({"type": "chat.send", "ticket": reference, "client_id": "sv-1", "body": "Hej"})
                await frames_until(sv, lambda f: f["type"] == "chat.ack")
            pushed = []
            await frames_until(visitor, lambda f: f["type"] == "message", seen=pushed)
            await visitor.close()
            return answers, pushed

    answers, pushed = asyncio.run(scenario())
    assert [(a["request"], a["code"]) for a in answers] == [(kind, "unknown_chat") for kind in DENIED]
    assert [f["type"] for f in pushed if f["type"] in ("typing", "read", "ended", "state")] == []
    assert pushed[-1]["body"] == "Hej" and pushed[-1]["from"] == "agent"
    assert Conversation.objects.get(pk=conversation.pk).state != Conversation.State.ENDED
