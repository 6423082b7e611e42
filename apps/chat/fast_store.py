"""The socket servers' write path: ``services.store_messages`` in SQL on an asyncio connection.

Why it exists: on a busy 2-core machine a batch written through the ORM from the sync
thread took 10-30 ms, almost all of it waiting (a thread hop and seven round trips,
each waiting for the GIL and a CPU slice). Here a batch is two round trips on the
event loop's own PostgreSQL connection, and the loop serves other sockets meanwhile.

It writes exactly the rows ``services.store_messages`` writes for an ordinary chat line
(the Message, its ``message`` TicketEvent, the chat Entry and the conversation's new
``last_seq``); tests/test_fast_store.py holds the two paths to the same result. Lines
that must change the ticket (an agent's first answer, a visitor writing on a resolved
ticket) are not stored here: they come back as ``None`` and go through the services,
after everything of their conversation that came before them in the batch.
"""

import json
from dataclasses import dataclass
from datetime import datetime

import psycopg
from django.conf import settings
from django.db import connections
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.chat.models import Conversation, Entry
from apps.chat.services import Outgoing, Refused, Stored, _Locked, _needs_ticket_service, external_id
from apps.policy.languages import Channel
from apps.tickets.models import Message, Ticket, TicketEvent

CONVERSATIONS = Conversation._meta.db_table
ENTRIES = Entry._meta.db_table
TICKETS = Ticket._meta.db_table
MESSAGES = Message._meta.db_table
EVENTS = TicketEvent._meta.db_table

# Both statements have one fixed text, so psycopg prepares them once per connection and
# PostgreSQL neither parses nor plans them again. The batch travels as JSON: one C-encoded
# parameter instead of a Python-dumped array per column.
READ = (f"SELECT c.id, c.last_seq, c.state, c.visitor_name, c.visitor_email, t.id, t.reference, t.status, "
        f"t.first_response_at, t.assignee_id, t.contact_id, u.first_name, u.last_name, u.username, "
        f"(SELECT json_agg(json_build_array(e.sender, e.client_id, e.seq, m.id, m.body_text, m.created_at, "
        f"au.first_name, au.last_name, au.username)) FROM {ENTRIES} e JOIN {MESSAGES} m ON m.id = e.message_id "
        f"LEFT JOIN auth_user au ON au.id = m.author_user_id "
        f"WHERE e.conversation_id = c.id AND e.client_id IN (SELECT json_array_elements_text(%s::json))) "
        f"FROM {CONVERSATIONS} c JOIN {TICKETS} t ON t.id = c.ticket_id LEFT JOIN auth_user u ON u.id = t.assignee_id "
        f"WHERE c.id IN (SELECT json_array_elements_text(%s::json)::uuid)")
# One statement, so one transaction without BEGIN and COMMIT. Instead of a row lock held
# between the read and the write, each conversation's update is conditional on what was
# read (sequence, state and the ticket fields the plan depended on): a conversation some
# other process wrote meanwhile is not updated, none of its lines are inserted, and
# ``store`` plans it again.
WRITE = (
    f"WITH v AS (SELECT * FROM json_to_recordset(%s::json) AS v(ord int, conversation_id uuid, seq bigint, "
    f"sender varchar, client_id varchar, ticket_id bigint, direction varchar, body text, author_user_id int, "
    f"author_contact_id bigint, external_id varchar, actor_label varchar)), "
    f"w AS (SELECT * FROM json_to_recordset(%s::json) AS w(id uuid, read_seq bigint, last_seq bigint, "
    f"read_state varchar, state varchar, status varchar, assignee_id int, answered bool)), "
    f"u AS (UPDATE {CONVERSATIONS} c SET last_seq = w.last_seq, state = w.state FROM w, {TICKETS} t "
    f"WHERE c.id = w.id AND c.last_seq = w.read_seq AND c.state = w.read_state AND t.id = c.ticket_id "
    f"AND t.status = w.status AND t.assignee_id IS NOT DISTINCT FROM w.assignee_id "
    f"AND (t.first_response_at IS NOT NULL) = w.answered RETURNING c.id), "
    f"ok AS (SELECT v.* FROM v WHERE v.conversation_id IN (SELECT id FROM u)), "
    f"m AS (INSERT INTO {MESSAGES} (ticket_id, direction, author_user_id, author_contact_id, automatic, channel, "
    f"body_text, body_html, external_id, created_at) SELECT ticket_id, direction, author_user_id, "
    f"author_contact_id, false, %s, body, '', external_id, %s FROM ok ORDER BY ord RETURNING id, external_id), "
    f"j AS (SELECT ok.*, m.id AS message_id FROM ok JOIN m ON m.external_id = ok.external_id), "
    f"e AS (INSERT INTO {EVENTS} (ticket_id, kind, actor_id, actor_label, data, created_at) "
    f"SELECT ticket_id, 'message', author_user_id, actor_label, jsonb_build_object('message_id', message_id, "
    f"'direction', direction, 'automatic', false), %s FROM j ORDER BY ord), "
    f"x AS (INSERT INTO {ENTRIES} (conversation_id, seq, message_id, sender, client_id) "
    f"SELECT conversation_id, seq, message_id, sender, client_id FROM j) "
    f"SELECT ord, message_id FROM j")
ATTEMPTS = 3


def _name(first, last, username) -> str:
    return f"{first or ''} {last or ''}".strip() or (username or "")


@dataclass
class _Row(_Locked):
    """The services' row, plus what the fast path needs on top."""

    assignee_name: str = ""
    diverted: bool = False
    read_seq: int = 0
    read_state: str = ""

    def __post_init__(self):
        self.read_seq, self.read_state = self.last_seq, self.state


def _needs_services(item: Outgoing, row: _Row) -> bool:
    # Beyond the services' own rule: no client id to de-duplicate by, or an agent who is not
    # the assignee (refused, or a manager stepping in) — the services decide and name the author.
    return (_needs_ticket_service(item, row) or not item.client_id
            or (item.sender == Entry.Sender.AGENT and item.user_id != row.assignee_id))


async def connect() -> psycopg.AsyncConnection | None:
    """A connection of the writer's own, to the database Django uses; None when that is not PostgreSQL."""
    params = connections["default"].get_connection_params()
    if connections["default"].vendor != "postgresql":
        return None
    for django_only in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(django_only, None)
    # Autocommit: each statement of store() is a transaction of its own.
    return await psycopg.AsyncConnection.connect(**params, autocommit=True)


def enabled() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


async def store(conn: psycopg.AsyncConnection, items: list[Outgoing]) -> list[Stored | Refused | None]:
    """Store what the fast path may store; ``None`` marks items for the services.

    Two round trips, each one prepared statement: read the conversations (and any
    client ids already stored), then insert and advance them in one statement. A
    conversation written by someone else in between is planned again, and after
    ``ATTEMPTS`` tries left to the services, which lock it.
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


RACED = object()      # the item's conversation changed between the read and the write


async def _store_once(conn, items: list[Outgoing]) -> list:
    now = timezone.now()
    ids = sorted({str(item.conversation_id) for item in items})
    client_ids = sorted({item.client_id for item in items if item.client_id})
    cursor = conn.cursor()
    await cursor.execute(READ, [json.dumps(client_ids), json.dumps(ids)], prepare=True)
    rows, known = {}, {}
    for r in await cursor.fetchall():
        row = rows[str(r[0])] = _Row(str(r[0]), *r[1:11], assignee_name=_name(*r[11:14]))
        for sender, client_id, seq, message_id, body, at, first, last, username in r[14] or ():
            known[(row.id, sender, client_id)] = (seq, message_id, body, datetime.fromisoformat(at),
                                                 first, last, username)
    results: list = [None] * len(items)
    order, copies = _plan(items, rows, known, results)
    if not order:
        return results
    dirty = [row for row in rows.values() if row.dirty]
    lines = [{"ord": index, "conversation_id": row.id, "seq": seq, "sender": item.sender,
              "client_id": item.client_id, "ticket_id": row.ticket_id, "body": item.body,
              "external_id": external_id(row.id, item.sender, item.client_id),
              **({"direction": Message.Direction.OUTBOUND, "author_user_id": item.user_id, "actor_label": ""}
                 if item.sender == Entry.Sender.AGENT else
                 {"direction": Message.Direction.INBOUND, "author_contact_id": row.contact_id,
                  "actor_label": row.visitor_name or row.visitor_email})}
             for index, item, row, seq in order]
    guards = [{"id": row.id, "read_seq": row.read_seq, "last_seq": row.last_seq, "read_state": row.read_state,
               "state": row.state, "status": row.status, "assignee_id": row.assignee_id,
               "answered": row.first_response_at is not None} for row in dirty]
    await cursor.execute(WRITE, [json.dumps(lines), json.dumps(guards), Channel.CHAT, now, now], prepare=True)
    message_ids = dict(await cursor.fetchall())
    written = {row.id for index, _item, row, _seq in order if index in message_ids}
    for index, item, row, seq in order:
        if row.id not in written:
            results[index] = RACED
            continue
        author = row.assignee_name if item.sender == Entry.Sender.AGENT else row.visitor_name
        results[index] = Stored(row.id, row.reference, seq, message_ids[index], item.sender, author, item.body,
                                item.client_id, now, row.assignee_id)
    for index, first in copies:
        results[index] = (RACED if results[first] is RACED
                          else Stored(**{**results[first].__dict__, "duplicate": True}))
    # Whatever the plan decided for a raced conversation (refused, duplicate, diverted) is decided again.
    raced = {row.id for row in dirty} - written
    return [RACED if str(item.conversation_id) in raced else result for item, result in zip(items, results)]


def _plan(items, rows, known, results):
    """Decide each item's fate from what was read: refused, duplicate, left to the services, or a number."""
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
            seq, message_id, body, at, first, last, username = known[key]
            author = _name(first, last, username) if item.sender == Entry.Sender.AGENT else row.visitor_name
            results[index] = Stored(row.id, row.reference, seq, message_id, item.sender, author, body,
                                    item.client_id, at, row.assignee_id, duplicate=True)
            continue
        if key in in_batch:
            copies.append((index, in_batch[key]))
            continue
        if row.state == Conversation.State.ENDED:
            results[index] = Refused("closed", _("This chat has ended."), item.client_id)
            continue
        row.last_seq += 1
        row.dirty = True
        if item.sender == Entry.Sender.AGENT and row.state == Conversation.State.WAITING:
            row.state = Conversation.State.ACTIVE
        in_batch[key] = index
        order.append((index, item, row, row.last_seq))
    return order, copies
