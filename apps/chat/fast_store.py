"""The socket servers' write path: ``services.store_messages`` in SQL on an asyncio connection.

Why it exists: on a busy 2-core machine a batch written through the ORM from the sync
thread took 10-30 ms, almost all of it waiting (a thread hop and seven round trips,
each waiting for the GIL and a CPU slice). Here a batch is one prepared statement on
the event loop's own PostgreSQL connection (two when a conversation must be read
first), and the loop serves other sockets meanwhile.

It writes exactly the rows ``services.store_messages`` writes for an ordinary chat line
(the Message, the chat Entry and the conversation's new ``last_seq``);
tests/test_fast_store.py holds the two paths to the same result. Lines that must change
the ticket (an agent's first answer, a visitor writing on a resolved ticket) are not
stored here: they come back as ``None`` and go through the services, after everything
of their conversation that came before them in the batch.
"""

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.models import AgentProfile
from apps.chat.models import Conversation, Entry
from apps.chat.services import LockedConversation, Outgoing, Refused, Stored, external_id, needs_ticket_service
from apps.policy.languages import Channel
from apps.tickets.models import Message, SearchDocument, Ticket
from apps.tickets.search import tokens_of
from supportdesk.db import on_postgresql

CONVERSATIONS = Conversation._meta.db_table
ENTRIES = Entry._meta.db_table
TICKETS = Ticket._meta.db_table
MESSAGES = Message._meta.db_table
PROFILES = AgentProfile._meta.db_table

# Both statements have one fixed text, so psycopg prepares them once per connection and
# PostgreSQL neither parses nor plans them again. The batch travels as JSON: one C-encoded
# parameter instead of a Python-dumped array per column. Rows are found by ``= ANY(ARRAY(…))``
# on primary keys, and stored client ids by a LATERAL probe per line: the generic plan
# cannot know a batch holds a few lines (it guesses 100), and joins it planned on that
# guess scanned the whole ticket table, and then every chat line, once per batch.
READ = (f"SELECT c.id, c.last_seq, c.state, c.visitor_name, c.visitor_email, t.id, t.reference, t.status, "
        f"t.first_response_at, t.assignee_id, t.contact_id, up.display_name, u.first_name, u.last_name, u.username, "
        f"(SELECT json_agg(json_build_array(e.sender, e.client_id, e.seq, m.id, m.body_text, m.created_at, "
        f"aup.display_name, au.first_name, au.last_name, au.username)) FROM {ENTRIES} e "
        f"JOIN {MESSAGES} m ON m.id = e.message_id LEFT JOIN auth_user au ON au.id = m.author_user_id "
        f"LEFT JOIN {PROFILES} aup ON aup.user_id = au.id "
        f"WHERE e.conversation_id = c.id AND e.client_id IN (SELECT json_array_elements_text(%s::json))) "
        f"FROM {CONVERSATIONS} c JOIN {TICKETS} t ON t.id = c.ticket_id LEFT JOIN auth_user u ON u.id = t.assignee_id "
        f"LEFT JOIN {PROFILES} up ON up.user_id = u.id "
        f"WHERE c.id = ANY(ARRAY(SELECT json_array_elements_text(%s::json)::uuid))")
# One statement, so one transaction without BEGIN and COMMIT. Sequence numbers are taken
# in the statement (the conversation's row lock lasts only as long as it does). ``l`` locks
# the batch's conversations in id order before ``u`` updates them: two processes writing
# the same conversations (the visitor's lines on one, the agent's on the other) locked them
# in plan order and deadlocked, and PostgreSQL took a second to notice (bench/RESULTS.md). Instead of
# a lock held between a read and this write, each conversation's update applies only if
# its state and the ticket fields the plan depended on are still as this process last
# read them, and none of its client ids is stored yet: otherwise none of its lines are
# inserted and ``store`` reads it again. Those ticket fields are compared as one row value,
# which no index serves: compared one by one, a generic plan made without statistics
# found each ticket through the status index, reading every ticket in that status once
# per line (PostgreSQL's auto_explain, bench/RESULTS.md).
WRITE = (
    f"WITH v AS (SELECT * FROM json_to_recordset(%s::json) AS v(ord int, conversation_id uuid, "
    f"sender varchar, client_id varchar, ticket_id bigint, direction varchar, body text, author_user_id int, "
    f"author_contact_id bigint, external_id varchar, tokens text)), "
    f"w AS (SELECT * FROM json_to_recordset(%s::json) AS w(id uuid, ticket_id bigint, lines int, "
    f"read_state varchar, state varchar, status varchar, assignee_id int, answered bool)), "
    f"seen AS (SELECT v.conversation_id FROM v, LATERAL (SELECT 1 FROM {ENTRIES} e "
    f"WHERE e.conversation_id = v.conversation_id AND e.sender = v.sender AND e.client_id = v.client_id "
    f"AND e.client_id <> '' LIMIT 1) AS stored), "
    f"l AS MATERIALIZED (SELECT c.id FROM {CONVERSATIONS} c WHERE c.id = ANY(ARRAY(SELECT id FROM w)) "
    f"ORDER BY c.id FOR NO KEY UPDATE), "
    f"u AS (UPDATE {CONVERSATIONS} c SET last_seq = c.last_seq + w.lines, state = w.state FROM w, {TICKETS} t "
    f"WHERE c.id = ANY(ARRAY(SELECT id FROM l)) AND t.id = ANY(ARRAY(SELECT ticket_id FROM w)) "
    f"AND c.id = w.id AND c.state = w.read_state AND t.id = c.ticket_id AND t.id = w.ticket_id "
    f"AND ROW(t.status, t.assignee_id, t.first_response_at IS NOT NULL) "
    f"IS NOT DISTINCT FROM ROW(w.status, w.assignee_id, w.answered) "
    f"AND c.id NOT IN (SELECT conversation_id FROM seen) "
    f"RETURNING c.id, c.last_seq - w.lines AS base), "
    f"ok AS (SELECT v.*, u.base + row_number() OVER (PARTITION BY v.conversation_id ORDER BY v.ord) AS seq "
    f"FROM v JOIN u ON u.id = v.conversation_id), "
    f"m AS (INSERT INTO {MESSAGES} (ticket_id, direction, author_user_id, author_contact_id, automatic, channel, "
    f"body_text, body_html, external_id, created_at) SELECT ticket_id, direction, author_user_id, "
    f"author_contact_id, false, %s, body, '', external_id, %s FROM ok ORDER BY ord "
    f"RETURNING id, external_id, created_at), "
    f"j AS (SELECT ok.*, m.id AS message_id, m.created_at FROM ok JOIN m ON m.external_id = ok.external_id), "
    f"x AS (INSERT INTO {ENTRIES} (conversation_id, seq, message_id, sender, client_id) "
    f"SELECT conversation_id, seq, message_id, sender, client_id FROM j), "
    f"s AS (INSERT INTO {SearchDocument._meta.db_table} (ticket_id, message_id, language, tokens, created_at) "
    f"SELECT j.ticket_id, j.message_id, t.language, j.tokens, j.created_at "
    f"FROM j JOIN {TICKETS} t ON t.id = j.ticket_id "
    f"WHERE j.tokens <> '') "
    f"SELECT ord, message_id, seq FROM j")
ATTEMPTS = 3


def _name(display, first, last, username) -> str:
    """``apps.accounts.names.display_name`` from the columns this module reads in one statement."""
    return (display or "").strip() or f"{first or ''} {last or ''}".strip() or (username or "")


@dataclass
class _Row(LockedConversation):
    """What the plan needs of a conversation and its ticket, as this process last read it."""

    assignee_name: str = ""
    diverted: bool = False
    lines: int = 0
    read_state: str = ""

    def __post_init__(self):
        self.read_state = self.state

    def planning_copy(self) -> "_Row":
        """A copy for one batch's plan (``dataclasses.replace`` re-ran ``__init__``: 1 % of a chat server's CPU)."""
        copy = object.__new__(_Row)
        copy.__dict__.update(self.__dict__)
        return copy


# The facts each conversation was last read with, per process: a batch whose conversations
# are all here needs no read. Kept honest by the write's conditions, not by expiry.
_facts: dict[str, _Row] = {}
MAX_FACTS = 50_000


def _needs_services(item: Outgoing, row: _Row) -> bool:
    # Beyond the services' own rule: no client id to de-duplicate by, or an agent who is not
    # the assignee (refused, or a manager stepping in) — the services decide and name the author.
    return (needs_ticket_service(item, row) or not item.client_id
            or (item.sender == Entry.Sender.AGENT and item.user_id != row.assignee_id))


async def connect() -> psycopg.AsyncConnection | None:
    """A connection of the writer's own, to the database Django uses; None when that is not PostgreSQL."""
    if not enabled():
        return None
    params = connections["default"].get_connection_params()
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    # Every row this connection reads or writes is found by key. Without statistics (a new
    # desk, or autovacuum off) the planner guessed the chat tables small and read each
    # whole (a sequential scan per batch); with this, it scans only when no index serves.
    params["options"] = f"{params.get('options', '')} -c enable_seqscan=off".strip()
    # Autocommit: each statement of store() is a transaction of its own.
    return await psycopg.AsyncConnection.connect(**params, autocommit=True)


def enabled() -> bool:
    """Whether the fast path may run; elsewhere the writer stores every line through the services."""
    return on_postgresql(connections["default"])


async def store(conn: psycopg.AsyncConnection, items: list[Outgoing]) -> list[Stored | Refused | None]:
    """Store what the fast path may store; ``None`` marks items for the services.

    Usually one round trip: the write, planned on the facts this process last read.
    Conversations it has not read, or that changed since, are read first (one more
    trip). After ``ATTEMPTS`` races the services take the rest, under their lock.
    """
    results: list[Stored | Refused | None] = [None] * len(items)
    pending = list(range(len(items)))
    for _attempt in range(ATTEMPTS):
        outcomes = await _store_once(conn, [items[index] for index in pending])
        for index, outcome in zip(pending, outcomes):
            results[index] = outcome
        pending = [index for index, outcome in zip(pending, outcomes) if outcome is RACED]
        if not pending:
            break
    return [None if result is RACED else result for result in results]


RACED = object()      # the item's conversation changed since it was read


async def _read(cursor, ids: list[str], client_ids: list[str]) -> dict:
    """Read conversations into the facts; the client ids among ``client_ids`` they already hold."""
    await cursor.execute(READ, [json.dumps(client_ids), json.dumps(ids)], prepare=True)
    known = {}
    if len(_facts) > MAX_FACTS:
        _facts.clear()
    for r in await cursor.fetchall():
        row = _facts[str(r[0])] = _Row(str(r[0]), *r[1:11], assignee_name=_name(*r[11:15]))
        for sender, client_id, seq, message_id, body, at, display, first, last, username in r[15] or ():
            known[(row.id, sender, client_id)] = (seq, message_id, body, datetime.fromisoformat(at),
                                                 display, first, last, username)
    return known


async def _store_once(conn, items: list[Outgoing]) -> list:
    now = timezone.now()
    ids = sorted({str(item.conversation_id) for item in items})
    cursor = conn.cursor()
    unread = [conversation_id for conversation_id in ids if conversation_id not in _facts]
    known = await _read(cursor, unread, sorted({item.client_id for item in items if item.client_id
                                                 and str(item.conversation_id) in unread})) if unread else {}
    rows = {conversation_id: _facts[conversation_id].planning_copy() for conversation_id in ids
            if conversation_id in _facts}
    results: list = [None] * len(items)
    order, copies = _plan(items, rows, known, results)
    if not order:
        return results
    lines = [{"ord": index, "conversation_id": row.id, "sender": item.sender,
              "client_id": item.client_id, "ticket_id": row.ticket_id, "body": item.body,
              "tokens": tokens_of(item.body),
              "external_id": external_id(row.id, item.sender, item.client_id),
              **({"direction": Message.Direction.OUTBOUND, "author_user_id": item.user_id}
                 if item.sender == Entry.Sender.AGENT else
                 {"direction": Message.Direction.INBOUND, "author_contact_id": row.contact_id})}
             for index, item, row in order]
    written = [row for row in rows.values() if row.lines]
    guards = [{"id": row.id, "ticket_id": row.ticket_id, "lines": row.lines, "read_state": row.read_state,
               "state": row.state, "status": row.status, "assignee_id": row.assignee_id,
               "answered": row.first_response_at is not None} for row in written]
    await cursor.execute(WRITE, [json.dumps(lines), json.dumps(guards), Channel.CHAT, now], prepare=True)
    stored = {index: (message_id, seq) for index, message_id, seq in await cursor.fetchall()}
    raced = {row.id for row in written} - {row.id for index, _item, row in order if index in stored}
    for row in written:
        if row.id in raced:
            _facts.pop(row.id, None)       # read it again on the next try
        elif row.id in _facts:
            _facts[row.id].state = _facts[row.id].read_state = row.state
    for index, item, row in order:
        if index in stored:
            message_id, seq = stored[index]
            author = row.assignee_name if item.sender == Entry.Sender.AGENT else row.visitor_name
            results[index] = Stored(row.id, row.reference, seq, message_id, item.sender, author, item.body,
                                    item.client_id, now, row.assignee_id)
    for index, first in copies:
        if results[first] is not None:
            results[index] = Stored(**{**results[first].__dict__, "duplicate": True})
    # Whatever the plan decided for a raced conversation (refused, duplicate, diverted) is decided again.
    return [RACED if str(item.conversation_id) in raced else result for item, result in zip(items, results)]


def _plan(items, rows, known, results):
    """Decide each item's fate from what was read: refused, duplicate, left to the services, or stored."""
    order, in_batch, copies = [], {}, []
    for index, item in enumerate(items):
        row = rows.get(str(item.conversation_id))
        if row is None:
            results[index] = Refused("unknown_conversation", _("This conversation does not exist."), item.client_id)
            continue
        if row.diverted or _needs_services(item, row):
            row.diverted = True      # this and its conversation's later lines keep their order there
            continue
        key = (row.id, item.sender, item.client_id)
        if key in known:
            seq, message_id, body, at, display, first, last, username = known[key]
            author = _name(display, first, last, username) if item.sender == Entry.Sender.AGENT else row.visitor_name
            results[index] = Stored(row.id, row.reference, seq, message_id, item.sender, author, body,
                                    item.client_id, at, row.assignee_id, duplicate=True)
            continue
        if key in in_batch:
            copies.append((index, in_batch[key]))
            continue
        if row.state == Conversation.State.ENDED:
            results[index] = Refused("closed", _("This chat has ended."), item.client_id)
            continue
        row.lines += 1
        if item.sender == Entry.Sender.AGENT and row.state == Conversation.State.WAITING:
            row.state = Conversation.State.ACTIVE
        in_batch[key] = index
        order.append((index, item, row))
    return order, copies
