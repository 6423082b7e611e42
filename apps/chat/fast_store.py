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

from dataclasses import dataclass

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

LOCK = (f"SELECT c.id, c.last_seq, c.state, c.visitor_name, c.visitor_email, t.id, t.reference, t.status, "
        f"t.first_response_at, t.assignee_id, t.contact_id, u.first_name, u.last_name, u.username "
        f"FROM {CONVERSATIONS} c JOIN {TICKETS} t ON t.id = c.ticket_id LEFT JOIN auth_user u ON u.id = t.assignee_id "
        f"WHERE c.id = ANY(%s::uuid[]) ORDER BY c.id FOR UPDATE OF c")
KNOWN = (f"SELECT e.conversation_id, e.sender, e.client_id, e.seq, m.id, m.body_text, m.created_at, "
         f"u.first_name, u.last_name, u.username FROM {ENTRIES} e JOIN {MESSAGES} m ON m.id = e.message_id "
         f"LEFT JOIN auth_user u ON u.id = m.author_user_id "
         f"WHERE e.conversation_id = ANY(%s::uuid[]) AND e.client_id = ANY(%s)")
ROW = "(%s::int, %s::uuid, %s::bigint, %s::varchar, %s::varchar, %s::bigint, %s::varchar, %s::text, %s::int, " \
      "%s::bigint, %s::varchar, %s::varchar)"


def _insert_sql(rows: int, conversations: int) -> str:
    return (
        f"WITH v(ord, conversation_id, seq, sender, client_id, ticket_id, direction, body, author_user_id, "
        f"author_contact_id, external_id, actor_label) AS (VALUES {', '.join([ROW] * rows)}), "
        f"m AS (INSERT INTO {MESSAGES} (ticket_id, direction, author_user_id, author_contact_id, automatic, channel, "
        f"body_text, body_html, external_id, created_at) SELECT ticket_id, direction, author_user_id, "
        f"author_contact_id, false, %s, body, '', external_id, %s FROM v ORDER BY ord RETURNING id, external_id), "
        f"j AS (SELECT v.*, m.id AS message_id FROM v JOIN m ON m.external_id = v.external_id), "
        f"e AS (INSERT INTO {EVENTS} (ticket_id, kind, actor_id, actor_label, data, created_at) "
        f"SELECT ticket_id, 'message', author_user_id, actor_label, jsonb_build_object('message_id', message_id, "
        f"'direction', direction, 'automatic', false), %s FROM j ORDER BY ord), "
        f"x AS (INSERT INTO {ENTRIES} (conversation_id, seq, message_id, sender, client_id) "
        f"SELECT conversation_id, seq, message_id, sender, client_id FROM j), "
        f"u AS (UPDATE {CONVERSATIONS} c SET last_seq = w.last_seq, state = w.state FROM (VALUES "
        f"{', '.join(['(%s::uuid, %s::bigint, %s::varchar)'] * conversations)}) AS w(id, last_seq, state) "
        f"WHERE c.id = w.id) SELECT ord, message_id FROM j")


def _name(first, last, username) -> str:
    return f"{first or ''} {last or ''}".strip() or (username or "")


@dataclass
class _Row(_Locked):
    """The services' locked row, plus what the fast path needs on top."""

    assignee_name: str = ""
    diverted: bool = False


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
    # Autocommit: store() sends its own BEGIN and COMMIT with its statements.
    return await psycopg.AsyncConnection.connect(**params, autocommit=True)


def enabled() -> bool:
    return settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


async def store(conn: psycopg.AsyncConnection, items: list[Outgoing]) -> list[Stored | Refused | None]:
    """Store what the fast path may store, in one transaction; ``None`` marks items for the services.

    Two round trips: "BEGIN; lock the conversations; look up client ids" and "insert; COMMIT".
    The statements are bound client-side (psycopg's literal quoting) so that each trip is one
    simple query: psycopg's pipeline mode did the same in two trips but spun the CPU waiting.
    """
    now = timezone.now()
    ids = sorted({str(item.conversation_id) for item in items})
    client_ids = sorted({item.client_id for item in items if item.client_id})
    results: list[Stored | Refused | None] = [None] * len(items)
    cursor = psycopg.AsyncClientCursor(conn)
    try:
        await cursor.execute(f"BEGIN; {LOCK}; {KNOWN}", [ids, ids, client_ids])
        cursor.nextset()
        rows = {str(r[0]): _Row(str(r[0]), *r[1:11], assignee_name=_name(*r[11:14])) for r in await cursor.fetchall()}
        cursor.nextset()
        known = {(str(r[0]), r[1], r[2]): r[3:] for r in await cursor.fetchall()}
        order, values, updates, copies = _plan(items, rows, known, results)
        message_ids = {}
        if order:
            await cursor.execute(_insert_sql(len(order), len(updates) // 3) + "; COMMIT",
                                 [*values, Channel.CHAT, now, now, *updates])
            message_ids = dict(await cursor.fetchall())
        else:
            await cursor.execute("COMMIT")
    except BaseException:
        if not conn.closed and conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            await conn.execute("ROLLBACK")
        raise
    for index, item, row, seq in order:
        author = row.assignee_name if item.sender == Entry.Sender.AGENT else row.visitor_name
        results[index] = Stored(row.id, row.reference, seq, message_ids[index], item.sender, author, item.body,
                                item.client_id, now, row.assignee_id)
    for index, first in copies:
        results[index] = Stored(**{**results[first].__dict__, "duplicate": True})
    return results


def _plan(items, rows, known, results):
    """Decide each item's fate under the lock: refused, duplicate, left to the services, or stored with a number."""
    order, values, in_batch, copies = [], [], {}, []
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
        agent = item.sender == Entry.Sender.AGENT
        row.last_seq += 1
        row.dirty = True
        if agent and row.state == Conversation.State.WAITING:
            row.state = Conversation.State.ACTIVE
        in_batch[key] = index
        order.append((index, item, row, row.last_seq))
        values += [index, row.id, row.last_seq, item.sender, item.client_id, row.ticket_id,
                   Message.Direction.OUTBOUND if agent else Message.Direction.INBOUND, item.body,
                   item.user_id if agent else None, None if agent else row.contact_id,
                   external_id(row.id, item.sender, item.client_id),
                   "" if agent else (row.visitor_name or row.visitor_email)]
    updates = [field for row in rows.values() if row.dirty for field in (row.id, row.last_seq, row.state)]
    return order, values, updates, copies
