"""The socket servers' SQL write path stores exactly what the services store, and leaves them the rest."""

import threading

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from apps.chat import fast_store, services
from apps.chat.models import Conversation, Entry
from apps.chat.tests.conftest import start
from apps.tickets.models import Message, TicketEvent

pytestmark = pytest.mark.django_db(transaction=True)


def fast(items):
    async def run():
        connection = await fast_store.connect()
        try:
            return await fast_store.store(connection, items)
        finally:
            await connection.close()
    return async_to_sync(run)()


def rows(conversation):
    """What a stored conversation looks like, without ids and times."""
    entries = Entry.objects.filter(conversation=conversation).select_related("message").order_by("seq")
    messages = [(e.seq, e.sender, e.client_id, e.message.direction, e.message.body_text, e.message.channel,
                 e.message.author_user_id is not None, e.message.author_contact_id is not None,
                 e.message.external_id.split(":", 2)[2], e.message.automatic) for e in entries]
    events = [(e.kind, e.actor_id is not None, e.actor_label, e.data["direction"], e.data["automatic"])
              for e in TicketEvent.objects.filter(ticket=conversation.ticket, kind="message").order_by("pk")]
    state = Conversation.objects.filter(pk=conversation.pk).values_list("last_seq", "state").get()
    return messages, events, state


def lines(conversation_id, user_id):
    return [services.Outgoing(conversation_id=str(conversation_id), sender="visitor", body="Hej", client_id="v1"),
            services.Outgoing(conversation_id=str(conversation_id), sender="agent", body="Hej, hej!", client_id="a1",
                              user_id=user_id),
            services.Outgoing(conversation_id=str(conversation_id), sender="visitor", body="Tack", client_id="v2")]


def test_the_fast_path_writes_the_same_rows_as_the_services(conversation, online_agent):
    other = start(email="bo@example.com")
    from apps.routing.services import take_ticket

    take_ticket(ticket=other.ticket, user=online_agent)
    for c in (conversation, other):       # the agent's first answer is the services' job in both
        services.store_message(services.Outgoing(conversation_id=str(c.pk), sender="agent", body="Välkommen",
                                                 client_id="greet", user_id=online_agent.pk))
    results = fast(lines(conversation.pk, online_agent.pk))
    services.store_messages(lines(other.pk, online_agent.pk))
    assert [(r.seq, r.sender, r.duplicate) for r in results] == [(2, "visitor", False), (3, "agent", False),
                                                                 (4, "visitor", False)]
    assert results[1].author == "Sara Berg" and results[0].author == "Ada Lind"
    assert rows(conversation) == rows(Conversation.objects.get(pk=other.pk))


def test_lines_that_change_the_ticket_are_left_to_the_services_in_order(conversation, online_agent):
    results = fast(lines(conversation.pk, online_agent.pk))
    # The visitor's line is stored; the agent's first answer (it stops the clock) and the
    # visitor's line after it go to the services, so their numbers stay in order.
    assert results[0].seq == 1 and results[1] is None and results[2] is None
    assert Entry.objects.filter(conversation=conversation).count() == 1


def test_resent_and_repeated_client_ids_are_stored_once(conversation, online_agent):
    line = services.Outgoing(conversation_id=str(conversation.pk), sender="visitor", body="En gång", client_id="x1")
    first = fast([line, line])
    assert (first[0].duplicate, first[1].duplicate, first[1].seq) == (False, True, first[0].seq)
    again = fast([line])[0]
    assert (again.seq, again.message_id, again.duplicate, again.body) == (first[0].seq, first[0].message_id, True,
                                                                          "En gång")
    assert Message.objects.filter(body_text="En gång").count() == 1


def test_an_ended_chat_refuses_and_an_unknown_conversation_is_named(conversation):
    services.end_conversation(conversation_id=conversation.pk, by="visitor")
    closed, unknown = fast([
        services.Outgoing(conversation_id=str(conversation.pk), sender="visitor", body="Hallå?", client_id="late"),
        services.Outgoing(conversation_id="00000000-0000-0000-0000-000000000000", sender="visitor", body="?",
                          client_id="u1")])
    assert (closed.code, unknown.code) == ("closed", "unknown_conversation")


def test_a_conversation_written_between_read_and_write_is_read_again(conversation, monkeypatch):
    """Another process's line lands after our read: our update must not apply, and the retry numbers after it."""
    plan, plans = fast_store._plan, []

    def another_process_writes():
        services.store_message(services.Outgoing(conversation_id=str(conversation.pk), sender="visitor",
                                                 body="Från andra fliken", client_id="tab2"))
        connection.close()

    def plan_after_a_race(*args):
        if not plans:
            writer = threading.Thread(target=another_process_writes)
            writer.start()
            writer.join()
        plans.append(args)
        return plan(*args)

    monkeypatch.setattr(fast_store, "_plan", plan_after_a_race)
    [result] = fast([services.Outgoing(conversation_id=str(conversation.pk), sender="visitor", body="Efter",
                                       client_id="tab1")])
    assert len(plans) == 2
    assert (result.seq, result.duplicate) == (2, False)
    assert list(Entry.objects.filter(conversation=conversation).order_by("seq")
                .values_list("seq", "client_id", "message__body_text")) == [(1, "tab2", "Från andra fliken"),
                                                                            (2, "tab1", "Efter")]
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 2


def test_a_conversation_that_keeps_changing_is_left_to_the_services(conversation, monkeypatch):
    plan, counter = fast_store._plan, iter(range(100))

    def plan_while_another_process_writes(*args):
        def write():
            services.store_message(services.Outgoing(conversation_id=str(conversation.pk), sender="visitor",
                                                     body="Annan", client_id=f"other{next(counter)}"))
            connection.close()

        writer = threading.Thread(target=write)
        writer.start()
        writer.join()
        return plan(*args)

    monkeypatch.setattr(fast_store, "_plan", plan_while_another_process_writes)
    line = services.Outgoing(conversation_id=str(conversation.pk), sender="visitor", body="Min", client_id="mine")
    assert fast([line]) == [None]
    assert not Entry.objects.filter(conversation=conversation, client_id="mine").exists()
    assert Conversation.objects.get(pk=conversation.pk).last_seq == fast_store.ATTEMPTS
