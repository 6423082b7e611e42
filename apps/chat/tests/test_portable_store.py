"""``store_messages`` writes the same rows through PostgreSQL's hand-written statements and
through the portable path that SQLite takes (the whole suite runs that path on SQLite)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.chat import services
from apps.chat.models import Conversation, Entry
from apps.chat.tests.conftest import start
from apps.desk.actions import take_ticket
from apps.tickets.models import Message, Ticket
from supportdesk.db import portable

pytestmark = [pytest.mark.django_db,
              pytest.mark.postgresql(reason="compares PostgreSQL's own statements with the portable path")]

STARTED = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)     # a Tuesday, inside the 24x5 window


def line(conversation, sender, body, client_id, user=None, **extra):
    return services.Outgoing(conversation_id=str(conversation.pk), sender=sender, body=body, client_id=client_id,
                             user_id=user.pk if user else None, **extra)


def batches(ada, bo, agent, stranger):
    """Two batches over two chats: new lines, the agent's first answer (the ticket service's), copies
    within a batch and of stored lines, refusals, and a conversation that does not exist."""
    return [
        [line(ada, "visitor", "Hej", "v1"), line(bo, "visitor", "Hallå", "v1"), line(ada, "visitor", "Hej", "v1"),
         line(ada, "agent", "Välkommen", "a1", agent), line(ada, "visitor", "Tack", "v2"),
         line(bo, "agent", "Fel person", "x1", stranger),
         services.Outgoing(conversation_id="00000000-0000-0000-0000-000000000000", sender="visitor", body="?",
                           client_id="u1"),
         line(ada, "agent", "Hur kan jag hjälpa?", "a2", agent), line(bo, "visitor", "Utan id", "")],
        [line(ada, "visitor", "Hej", "v1"), line(bo, "agent", "Hej Bo", "a1", agent),
         line(ada, "visitor", "Det kraschar", "v3"), line(bo, "visitor", "Bra", "v2")],
    ]


def results(stored, conversations):
    names = {str(c.pk): f"chat {n}" for n, c in enumerate(conversations)}
    return [(type(r).__name__, r.code) if isinstance(r, services.Refused)
            else (names[r.conversation_id], r.seq, r.sender, r.author, r.body, r.client_id, r.at, r.duplicate)
            for r in stored]


def rows(conversation):
    """Everything a chat's batch writes: its Conversation, Entry and Message rows and its ticket's
    state, without ids (the chats' own ids are in the messages' external ids)."""
    conversation = Conversation.objects.select_related("ticket").get(pk=conversation.pk)
    ticket = Ticket.objects.get(pk=conversation.ticket_id)
    own = f"chat:{conversation.pk.hex}:"
    entries = [(e.seq, e.sender, e.client_id, e.message_id) for e in Entry.objects.filter(conversation=conversation)]
    messages = [(m.pk, m.direction, m.body_text, m.author_user_id, m.author_contact_id == ticket.contact_id,
                 m.automatic, m.channel, m.external_id.replace(own, "chat:…:"), m.created_at)
                for m in Message.objects.filter(ticket=ticket).order_by("pk")]
    order = {pk: index for index, (pk, *_rest) in enumerate(messages)}
    return ([(seq, sender, client_id, order[message_id]) for seq, sender, client_id, message_id in entries],
            [message[1:] for message in messages],
            (conversation.last_seq, conversation.state, conversation.visitor_read_seq, conversation.agent_read_seq),
            (ticket.status, ticket.first_response_at, ticket.assignee_id))


def chats(agent):
    pair = [start(name="Ada Lind", email="ada@example.com"), start(name="Bo Ek", email="bo@example.com")]
    for conversation in pair:
        take_ticket(ticket=conversation.ticket, user=agent)
    return pair


def test_the_portable_path_writes_the_same_rows_as_postgresqls_statements(online_agent, django_user_model):
    stranger = django_user_model.objects.create_user("agent_de", first_name="Dora")
    answers, sql = {"postgresql": [], "portable": []}, {"postgresql": [], "portable": []}
    with time_machine.travel(STARTED, tick=False) as clock:
        on_postgresql, on_portable = chats(online_agent), chats(online_agent)
        for fast, slow in zip(batches(*on_postgresql, online_agent, stranger),
                              batches(*on_portable, online_agent, stranger), strict=True):
            clock.shift(timedelta(minutes=1))
            with CaptureQueriesContext(connection) as queries:
                answers["postgresql"] += services.store_messages(fast)
            sql["postgresql"] += [query["sql"] for query in queries]
            with portable(), CaptureQueriesContext(connection) as queries:
                answers["portable"] += services.store_messages(slow)
            sql["portable"] += [query["sql"] for query in queries]

    # Each path ran: the row lock and the update of PostgreSQL's own statements, the ORM's elsewhere.
    hand_written = ("FOR UPDATE OF c", "AS v(id, last_seq, state)")
    assert all(any(marker in query for query in sql["postgresql"]) for marker in hand_written)
    assert not any(marker in query for query in sql["portable"] for marker in hand_written)
    outcomes = results(answers["portable"], on_portable)
    assert outcomes == results(answers["postgresql"], on_postgresql)
    for fast, slow in zip(on_postgresql, on_portable, strict=True):
        assert rows(slow) == rows(fast)
    # The batches held what they were meant to: copies, refusals, the ticket service's first answers.
    assert {("Refused", "not_assignee"), ("Refused", "unknown_conversation")} <= set(outcomes)
    assert sum(outcome[-1] is True for outcome in outcomes) == 2
    assert [rows(c)[2][:2] for c in on_portable] == [(5, Conversation.State.ACTIVE), (4, Conversation.State.ACTIVE)]
    assert all(rows(c)[3][1] is not None for c in on_portable)
