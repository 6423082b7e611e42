"""The socket servers' SQL write path stores exactly what the services store, and leaves them the rest."""

import re
import threading

import pytest
from asgiref.sync import async_to_sync
from django.db import connection

from apps.chat import fast_store, services
from apps.chat.models import Conversation, Entry
from apps.chat.tests.conftest import start
from apps.tickets.models import Message, TicketEvent

pytestmark = [pytest.mark.django_db(transaction=True),
              pytest.mark.postgresql(reason="fast_store is the socket servers' PostgreSQL-only write path")]


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
    history = list(TicketEvent.objects.filter(ticket=conversation.ticket).order_by("pk").values_list("kind", flat=True))
    state = Conversation.objects.filter(pk=conversation.pk).values_list("last_seq", "state").get()
    return messages, history, state


def lines(conversation_id, user_id):
    return [services.Outgoing(conversation_id=str(conversation_id), sender="visitor", body="Hej", client_id="v1"),
            services.Outgoing(conversation_id=str(conversation_id), sender="agent", body="Hej, hej!", client_id="a1",
                              user_id=user_id),
            services.Outgoing(conversation_id=str(conversation_id), sender="visitor", body="Tack", client_id="v2")]


def test_the_fast_path_writes_the_same_rows_as_the_services(conversation, online_agent):
    other = start(email="bo@example.com")
    from apps.desk.actions import take_ticket

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
    # The lines are the transcript; the history says what happened to the ticket, once each.
    assert "message" not in rows(conversation)[1] and {"opened", "assigned", "status"} <= set(rows(conversation)[1])


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


@pytest.fixture(autouse=True)
def forget_facts():
    """Each test starts with a process that has read no conversation."""
    fast_store._facts.clear()
    yield
    fast_store._facts.clear()


def in_another_process(write):
    """Run ``write`` on a connection of its own, as another server process would, and wait for it."""
    def run():
        try:
            write()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()


def visitor_line(conversation, client_id, body="Hej"):
    return services.Outgoing(conversation_id=str(conversation.pk), sender="visitor", body=body, client_id=client_id)


def test_a_line_another_process_stores_first_takes_the_number_before_ours(conversation, monkeypatch):
    plan = fast_store._plan

    def plan_then_another_process_writes(*args):
        planned = plan(*args)
        in_another_process(lambda: services.store_message(visitor_line(conversation, "tab2", "Från andra fliken")))
        return planned

    monkeypatch.setattr(fast_store, "_plan", plan_then_another_process_writes)
    [result] = fast([visitor_line(conversation, "tab1", "Efter")])
    assert (result.seq, result.duplicate) == (2, False)
    assert list(Entry.objects.filter(conversation=conversation).order_by("seq")
                .values_list("seq", "client_id", "message__body_text")) == [(1, "tab2", "Från andra fliken"),
                                                                            (2, "tab1", "Efter")]
    assert Conversation.objects.get(pk=conversation.pk).last_seq == 2


def test_a_second_batch_needs_no_read_and_a_changed_ticket_is_read_again(conversation, online_agent, monkeypatch):
    from apps.desk.actions import change_status
    from apps.tickets.services import Actor

    assert fast([visitor_line(conversation, "v1")])[0].seq == 1
    reads = []
    read = fast_store._read

    async def counted_read(*args):
        reads.append(args[1])
        return await read(*args)

    monkeypatch.setattr(fast_store, "_read", counted_read)
    assert fast([visitor_line(conversation, "v2")])[0].seq == 2
    assert reads == []          # planned on the facts of the first batch
    # Another process resolves the ticket: a visitor's line now reopens it, which is the services' job.
    in_another_process(lambda: change_status(ticket=conversation.ticket, to="resolved",
                                             actor=Actor(user=online_agent)))
    assert fast([visitor_line(conversation, "v3")]) == [None]
    assert reads == [[str(conversation.pk)]]
    assert not Entry.objects.filter(conversation=conversation, client_id="v3").exists()


def test_a_chat_ended_elsewhere_refuses_and_a_client_id_stored_elsewhere_is_a_duplicate(conversation, monkeypatch):
    other = start(email="bo@example.com")
    fast([visitor_line(conversation, "v1"), visitor_line(other, "w1")])      # both read and remembered
    in_another_process(lambda: services.end_conversation(conversation_id=conversation.pk, by="visitor"))
    in_another_process(lambda: services.store_message(visitor_line(other, "w2", "Skickad två gånger")))
    closed, again = fast([visitor_line(conversation, "v2"), visitor_line(other, "w2", "Skickad två gånger")])
    assert closed.code == "closed"
    assert (again.duplicate, again.seq, again.body) == (True, 2, "Skickad två gånger")
    assert Entry.objects.filter(conversation=other).count() == 2


def test_a_conversation_that_keeps_changing_is_left_to_the_services(conversation, online_agent, monkeypatch):
    from apps.desk.actions import change_status
    from apps.tickets.services import Actor

    plan, statuses = fast_store._plan, iter(["forwarded", "open"] * fast_store.ATTEMPTS)

    def plan_while_another_process_changes_the_ticket(*args):
        planned = plan(*args)
        in_another_process(lambda: change_status(ticket=conversation.ticket, to=next(statuses),
                                                 actor=Actor(user=online_agent)))
        return planned

    fast([visitor_line(conversation, "v1")])
    from apps.tickets.models import Ticket

    Ticket.objects.filter(pk=conversation.ticket_id).update(status="open")
    fast_store._facts.clear()
    monkeypatch.setattr(fast_store, "_plan", plan_while_another_process_changes_the_ticket)
    assert fast([visitor_line(conversation, "mine")]) == [None]
    assert not Entry.objects.filter(conversation=conversation, client_id="mine").exists()


def _copies_of(cursor, model, row_id, count: int, overrides: dict[str, str]) -> None:
    """``count`` copies of one row in SQL; ``overrides`` gives unique columns as expressions of g."""
    columns = [f.column for f in model._meta.concrete_fields if f.column in overrides or not f.primary_key]
    values = [overrides.get(column, column) for column in columns]
    cursor.execute(f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} "
                   f"FROM {model._meta.db_table}, generate_series(1, %s) AS g WHERE id = %s", [count, row_id])


KEYS = {fast_store.TICKETS: ("tickets_ticket_pkey",),
        fast_store.CONVERSATIONS: ("chat_conversation_pkey", "chat_conversation_ticket_id_key"),
        fast_store.ENTRIES: ("chat_entry_unique_client_id", "chat_entry_unique_seq", "chat_entry_pkey")}


@pytest.mark.parametrize("analysed, copies", [(True, 20_000), (False, 1_000)],
                         ids=["with statistics", "never analysed"])
def test_the_write_finds_its_rows_by_key_whatever_the_plan_guesses(conversation, analysed, copies):
    """On a desk with many chats, the prepared write's generic plan must find every row by key.

    Planned on its guess of 100 lines a batch, it once read every ticket for each batch. Planned
    without statistics (a new desk, or autovacuum off) on a thousand open tickets, it found each
    line's ticket through the status index, reading every open ticket once per line."""
    from apps.tickets.models import Ticket

    statement, number = fast_store.WRITE, 0
    while "%s" in statement:
        number += 1
        statement = statement.replace("%s", f"${number}", 1)
    with connection.cursor() as cursor:
        # The copies share the conversation's ticket status, as a desk's open tickets do.
        _copies_of(cursor, Ticket, conversation.ticket_id, copies, {"reference": "'T' || g", "external_ref": "''"})
        _copies_of(cursor, Conversation, conversation.pk, copies, {
            "id": "gen_random_uuid()",
            "ticket_id": f"(SELECT id FROM {fast_store.TICKETS} WHERE reference = 'T' || g)"})
        for table in KEYS:
            if analysed:
                cursor.execute(f"ANALYZE {table}")
            else:       # as before the first ANALYZE (which an earlier test may have run)
                cursor.execute("DELETE FROM pg_statistic WHERE starelid = %s::regclass", [table])
                cursor.execute("UPDATE pg_class SET reltuples = -1, relpages = 0 WHERE oid = %s::regclass", [table])

    async def explain():        # on a connection of the writer's own, with its settings
        writer_connection = await fast_store.connect()
        try:
            await writer_connection.execute("SET plan_cache_mode = force_generic_plan")
            await writer_connection.execute(
                f"PREPARE chat_write(text, text, text, timestamptz) AS {statement}")
            cursor = await writer_connection.execute("EXPLAIN EXECUTE chat_write('[]', '[]', 'chat', now())")
            return [row[0] for row in await cursor.fetchall()]
        finally:
            await writer_connection.close()

    plan = async_to_sync(explain)()
    indexes = [found.group(1) for line in plan if (found := re.search(r"(?:using|Bitmap Index Scan on) (\w+)", line))]
    keys = [key for table_keys in KEYS.values() for key in table_keys]
    whole_tables = [line for line in plan for table in KEYS if f"Seq Scan on {table} " in line]
    other_indexes = [index for index in indexes if index not in keys and index.startswith(("tickets_ti", "chat_"))]
    assert any("Update on" in line for line in plan) and fast_store.TICKETS in "".join(indexes), "\n".join(plan)
    assert (whole_tables, other_indexes) == ([], []), "\n".join(plan)


def test_two_processes_writing_the_same_conversations_at_once_do_not_deadlock(online_agent, regions, queues):
    """The visitor's lines are written by one server process and the agent's by another, in batches
    that share conversations; each batch locks its conversations in one order, so neither waits
    for the other in a cycle (which PostgreSQL breaks after a second by failing one)."""
    import asyncio

    from apps.desk.actions import take_ticket

    conversations = []
    for n in range(20):
        conversation = start(email=f"visitor{n}@example.com")
        take_ticket(ticket=conversation.ticket, user=online_agent)
        conversations.append(conversation)

    async def server_process(name, order, batches):
        connection = await fast_store.connect()
        try:
            for batch in range(batches):
                results = await fast_store.store(connection, [
                    visitor_line(conversation, f"{name}{batch}") for conversation in order])
                assert all(result is not None and not result.duplicate for result in results)
        finally:
            await connection.close()

    async def both():
        await asyncio.gather(server_process("a", conversations, 15),
                             server_process("b", conversations[::-1], 15))

    async_to_sync(both)()
    for conversation in conversations:
        assert list(Entry.objects.filter(conversation=conversation).order_by("seq")
                    .values_list("seq", flat=True)) == list(range(1, 31))
