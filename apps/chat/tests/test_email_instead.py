"""A waiting visitor is offered an answer by email, and accepting makes the chat async email work."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import translation

from apps.chat import selectors, services
from apps.chat.models import Conversation
from apps.chat.tests.conftest import frames_until, run, start, visitor_socket
from apps.console.history import event_detail
from apps.desk.actions import add_message, take_ticket
from apps.routing.models import Queue
from apps.sla.models import SlaTarget
from apps.tickets import channels, vocabulary
from apps.tickets.models import Message, Ticket

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("flushed_layer")]

WEDNESDAY_NOON = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def answered_chats(agent, count=3, wait=timedelta(seconds=40)):
    """Recent chats answered after ``wait``: enough for the queue to estimate a wait."""
    for n in range(count):
        with time_machine.travel(WEDNESDAY_NOON - timedelta(hours=1, minutes=n), tick=False):
            chat = start(email=f"earlier{n}@example.com")
        take_ticket(ticket=chat.ticket, user=agent)
        with time_machine.travel(WEDNESDAY_NOON - timedelta(hours=1, minutes=n) + wait, tick=False):
            add_message(ticket=Ticket.objects.get(pk=chat.ticket_id), direction=Message.Direction.OUTBOUND,
                        body="Hej!", author_user=agent)
        services.end_conversation(conversation_id=chat.pk, by="agent", user=agent)


def queue_of(conversation, at):
    with time_machine.travel(at, tick=False):
        return selectors.state_frame(conversation=selectors.conversation(conversation_id=conversation.pk))["queue"]


def test_the_offer_comes_after_the_configured_wait_when_the_wait_can_be_estimated(online_agent, settings):
    settings.CHAT_OFFER_EMAIL_AFTER_SECONDS = 90
    answered_chats(online_agent)
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        waiting = start()
    assert queue_of(waiting, WEDNESDAY_NOON + timedelta(seconds=89)) == {
        "position": 1, "expected_wait_seconds": 40, "offer_email": False}
    assert queue_of(waiting, WEDNESDAY_NOON + timedelta(seconds=90))["offer_email"] is True
    settings.CHAT_OFFER_EMAIL_AFTER_SECONDS = 30
    assert queue_of(waiting, WEDNESDAY_NOON + timedelta(seconds=31))["offer_email"] is True


def test_an_unknown_wait_comes_with_the_offer_at_once(online_agent):
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        waiting = start()
    assert queue_of(waiting, WEDNESDAY_NOON) == {"position": 1, "expected_wait_seconds": None, "offer_email": True}


def test_accepting_ends_the_chat_and_moves_the_ticket_to_async_email_work(online_agent):
    with time_machine.travel(WEDNESDAY_NOON, tick=False):
        waiting = start()
    ticket = Ticket.objects.get(pk=waiting.ticket_id)
    assert ticket.queue.kind == Queue.Kind.LIVE

    async def scenario():
        visitor, _, _ = await visitor_socket(waiting.pk)
        await visitor.receive_json_from()
        await visitor.send_json_to({"type": "email_instead"})
        assert (await frames_until(visitor, lambda f: f["type"] == "ended"))["by"] == "email"
        await visitor.disconnect()
    with time_machine.travel(WEDNESDAY_NOON + timedelta(seconds=100), tick=False):
        run(scenario)

    conversation = Conversation.objects.get(pk=waiting.pk)
    assert (conversation.state, conversation.ended_by) == ("ended", "email")
    ticket = Ticket.objects.select_related("queue").get(pk=waiting.ticket_id)
    assert not channels.is_live(ticket)
    assert (ticket.queue.kind, ticket.queue.language) == (Queue.Kind.ASYNC, "sv")
    targets = {t.kind: t for t in SlaTarget.objects.filter(ticket=ticket)}
    moved_at = WEDNESDAY_NOON + timedelta(seconds=100)
    assert targets[SlaTarget.Kind.FIRST_RESPONSE].breached_at == moved_at     # the 1 min had passed
    assert targets[SlaTarget.Kind.CALLBACK].started_at == moved_at            # the email clock runs from now
    assert targets[SlaTarget.Kind.CALLBACK].target_seconds == 8 * 3600
    moved = ticket.events.get(kind="chat")
    assert moved.details == vocabulary.Chat(event="ended", by="email")
    with translation.override("en"):                # a sentence, never a code
        assert event_detail(moved) == ("the visitor chose an answer by email instead of waiting; "
                                       "the chat moved to email")
    # Asked again (a second tab, a resent frame): nothing more happens.
    services.move_to_email(conversation_id=waiting.pk)
    assert ticket.events.filter(kind="chat").count() == 1


def test_a_chat_an_agent_has_taken_is_not_moved_and_the_refusal_is_in_the_visitors_language(online_agent):
    waiting = start()
    take_ticket(ticket=waiting.ticket, user=online_agent)

    async def scenario():
        visitor, _, _ = await visitor_socket(waiting.pk)
        await visitor.receive_json_from()
        await visitor.send_json_to({"type": "email_instead"})
        error = await frames_until(visitor, lambda f: f["type"] == "error")
        await visitor.disconnect()
        return error
    error = run(scenario)
    assert error["code"] == "not_waiting"
    assert Conversation.objects.get(pk=waiting.pk).state == "waiting"
    assert Ticket.objects.get(pk=waiting.ticket_id).assignee_id == online_agent.pk


def test_socket_errors_come_in_the_conversations_language_whatever_the_servers(online_agent):
    german = start(language="de")
    services.end_conversation(conversation_id=german.pk, by="visitor")

    async def scenario():
        visitor, _, _ = await visitor_socket(german.pk)
        await visitor.receive_json_from()
        await visitor.send_json_to({"type": "message", "client_id": "late", "body": "Noch eine Frage"})
        closed = await frames_until(visitor, lambda f: f["type"] == "error")
        await visitor.send_json_to({"type": "message", "client_id": "m2", "body": "   "})
        empty = await frames_until(visitor, lambda f: f["type"] == "error")
        await visitor.disconnect()
        return closed, empty
    with translation.override("en"):
        closed, empty = run(scenario)
    assert (closed["code"], closed["client_id"]) == ("closed", "late")
    with translation.override("de"):
        assert closed["detail"] == str(services.REFUSAL_TEXTS["closed"]) != "This chat has ended."
        assert empty["detail"] == translation.gettext("The message is empty.") != "The message is empty."
