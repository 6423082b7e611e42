"""Chat writes: start a conversation, store messages in order, read marks, end, transcripts.

Every message is stored (committed) before anyone is told about it, and
gets the conversation's next sequence number under a row lock, so both sides see one
order and a client that missed something asks for a replay after its last number.

``store_messages`` takes a batch: the socket servers collect the messages that arrive
while a write is in flight and store them in one transaction (group commit), because
one commit per chat line would not carry hundreds of conversations on one machine.
Messages that change a ticket's state (an agent's first answer, a visitor coming back
to a resolved ticket, an attachment) go through ``apps.desk.actions.add_message`` one by
one; the rest are inserted in bulk with the same rows add_message would write.

A chat's lines are its transcript, on the ticket; they are not entries in the ticket's
history, which records what happened to the ticket (opened, taken, answered, ended).
A 40-line chat used to add 40 "message added" entries, and their rows were a third of
what each line cost PostgreSQL.
"""

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest, Least
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.accounts.names import display_name
from apps.chat.models import Conversation, Entry, Rating
from apps.desk import actions
from apps.owners.models import Extension
from apps.policy.languages import Channel, normalise_language
from apps.policy.services import PolicyError, availability, region_for
from apps.routing.services import live_agents_online
from apps.tickets import search, vocabulary
from apps.tickets import services as tickets
from apps.tickets.models import Message, Ticket
from apps.tickets.selectors import surviving
from supportdesk.db import on_postgresql

log = logging.getLogger(__name__)

Sender = Entry.Sender
TRANSCRIPT_EVERY_SECONDS = 600


class ChatError(ValueError):
    """A chat request refused; ``code`` is for clients, the message is safe to show."""

    def __init__(self, code: str, detail: str, **extra):
        super().__init__(detail)
        self.code, self.detail, self.extra = code, detail, extra


class ChatUnavailable(ChatError):
    """Chat cannot be offered now (closed, nobody online, language not served by chat)."""


# --- starting -----------------------------------------------------------------

def chat_availability(*, language: str, entry_point: str = "", at: datetime | None = None) -> dict:
    """What the widget should offer: ``chat``, ``offline`` (async form) or ``email`` (language)."""
    at = at or timezone.now()
    language = normalise_language(language)
    region = region_for(entry_point=entry_point, language=language)
    if region is None:
        raise PolicyError(_("No region is configured for this widget or language."))
    answer = availability(channel=Channel.CHAT, language=language, region=region, at=at)
    if answer.reason == "language_not_served":
        return {"mode": "email", "reason": answer.reason, "next_opening": None, "region": region.slug}
    if not answer.open:
        return {"mode": "offline", "reason": "closed", "next_opening": answer.next_opening, "region": region.slug}
    if not live_agents_online(language=language, channel=Channel.CHAT, now=at):
        return {"mode": "offline", "reason": "no_agents", "next_opening": None, "region": region.slug}
    return {"mode": "chat", "reason": "open", "next_opening": None, "region": region.slug}


@transaction.atomic
def start_conversation(*, language: str, name: str, email: str, extension: str = "", page_url: str = "",
                       entry_point: str = "", ip: str | None = None, at: datetime | None = None,
                       check_availability: bool = True, time_zone: str = "") -> Conversation:
    """Open a chat ticket (channel chat), enter the language's live queue and start the 1 min clock.

    Refused with ``ChatUnavailable`` when the widget should show the offline or email form.
    """
    at = at or timezone.now()
    try:
        language = normalise_language(language)
    except ValueError as error:
        raise ChatError("bad_language", _("Unsupported language %(language)s.") % {"language": language}) from error
    if check_availability:
        answer = chat_availability(language=language, entry_point=entry_point, at=at)
        if answer["mode"] != "chat":
            raise ChatUnavailable(answer["reason"], _("Chat is not available now; please leave a message."),
                                  mode=answer["mode"], next_opening=answer["next_opening"])
    region = region_for(entry_point=entry_point, language=language)
    contact = tickets.find_or_create_contact(email=email, name=name, language=language, region=region)
    conversation_id = uuid.uuid4()
    with translation.override(language):
        subject = _("Live chat with %(name)s") % {"name": name or email}
    ticket = actions.open_ticket(
        channel=Channel.CHAT, contact=contact, subject=subject, body="", external_ref=f"chat:{conversation_id}",
        language=language, region=region, received_at=at, waiting_since=at,
        extension=Extension.objects.filter(slug=extension).first() if extension else None)
    return Conversation.objects.create(
        id=conversation_id, ticket=ticket, language=language, entry_point=entry_point[:100],
        page_url=page_url[:2000], visitor_name=name[:200], visitor_email=email, visitor_ip=ip, started_at=at,
        visitor_time_zone=time_zone if known_time_zone(time_zone) else "")


def known_time_zone(name: str) -> bool:
    """An IANA zone name this machine knows (the browser sends it; anything else is ignored)."""
    if not name or len(name) > 64:
        return False
    try:
        ZoneInfo(name)
    except (ValueError, OSError, ZoneInfoNotFoundError):
        return False
    return True


@transaction.atomic
def leave_offline_message(*, language: str, name: str, email: str, message: str, extension: str = "",
                          page_url: str = "", entry_point: str = "", request_id: str = "") -> Ticket:
    """The offline and email forms: an email-channel ticket (8 h target), answered by email.

    ``request_id`` (the widget's id for this form) makes a resubmitted form open no second ticket.
    """
    language = normalise_language(language)
    region = region_for(entry_point=entry_point, language=language)
    contact = tickets.find_or_create_contact(email=email, name=name, language=language, region=region)
    body = message
    if page_url:
        body = f"{message}\n\n— {page_url}"
    first_line = message.strip().splitlines()[0] if message.strip() else ""
    return actions.open_ticket(
        channel=Channel.EMAIL, contact=contact, subject=first_line[:120], body=body,
        external_ref=f"chat-form:{request_id or uuid.uuid4()}", language=language, region=region,
        extension=Extension.objects.filter(slug=extension).first() if extension else None)


# --- messages -----------------------------------------------------------------

@dataclass(frozen=True)
class Upload:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Outgoing:
    """A message a socket or upload wants stored."""

    conversation_id: str
    sender: str
    body: str
    client_id: str = ""
    user_id: int | None = None
    may_override: bool = False       # a manager may write into any chat
    upload: Upload | None = None


@dataclass(frozen=True)
class Stored:
    conversation_id: str
    ticket: str
    seq: int
    message_id: int
    sender: str
    author: str
    body: str
    client_id: str
    at: datetime
    assignee_id: int | None
    duplicate: bool = False
    attachments: tuple = field(default_factory=tuple)


@dataclass(frozen=True)
class Refused:
    code: str
    detail: str
    client_id: str = ""


UPLOAD_REFUSAL_STATUS = {"too_large": 413, "bad_type": 415}


def received_upload(file, *, sender: str, client_id: str, conversation_id, user_id: int | None = None,
                    may_override: bool = False) -> Outgoing | Refused:
    """A file sent in the chat (either side), checked against the size and type limits.

    The message's text is the file's name, so a transcript without files still reads well.
    """
    if file.size > settings.CHAT_MAX_ATTACHMENT_BYTES:
        megabytes = settings.CHAT_MAX_ATTACHMENT_BYTES // (1024 * 1024)
        return Refused("too_large", _("Files may be at most %(mb)d MB.") % {"mb": megabytes}, client_id)
    content_type = (file.content_type or "").split(";")[0].strip().lower()
    if content_type not in settings.CHAT_ATTACHMENT_TYPES:
        return Refused("bad_type", _("This kind of file cannot be sent in the chat."), client_id)
    name = (file.name or "attachment").replace("/", "_").replace("\\", "_")[:255]
    return Outgoing(conversation_id=str(conversation_id), sender=sender, body=name, client_id=client_id[:64],
                    user_id=user_id, may_override=may_override,
                    upload=Upload(filename=name, content_type=content_type, data=file.read()))


def external_id(conversation_id, sender: str, client_id: str) -> str:
    """The message's id on the chat channel: makes ``tickets.Message`` itself refuse a duplicate."""
    return f"chat:{uuid.UUID(str(conversation_id)).hex}:{sender}:{client_id}" if client_id else ""


def _attachments(message: Message) -> tuple:
    return tuple({"id": a.pk, "filename": a.filename, "size": a.size, "content_type": a.content_type}
                 for a in message.attachments.all())


def _stored(conversation: Conversation, entry: Entry, message: Message, author: str, duplicate=False,
            attachments=()) -> Stored:
    return Stored(conversation_id=str(conversation.pk), ticket=conversation.ticket.reference, seq=entry.seq,
                  message_id=message.pk, sender=entry.sender, author=author, body=message.body_text,
                  client_id=entry.client_id, at=message.created_at, assignee_id=conversation.ticket.assignee_id,
                  duplicate=duplicate, attachments=attachments)


@dataclass
class LockedConversation:
    """A conversation row locked for a batch, with what the batch needs of its ticket."""

    id: str
    last_seq: int
    state: str
    visitor_name: str
    visitor_email: str
    ticket_id: int
    reference: str
    status: str
    first_response_at: datetime | None
    assignee_id: int | None
    contact_id: int
    dirty: bool = False


def _lock(ids: list[str]) -> dict[str, LockedConversation]:
    if on_postgresql(connection):
        # Hand-written SQL: this runs for every batch, and building the ORM's join for it cost more
        # CPU than the whole write. Rows are locked in id order so two processes cannot deadlock.
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT c.id, c.last_seq, c.state, c.visitor_name, c.visitor_email, t.id, t.reference, t.status, "
                f"t.first_response_at, t.assignee_id, t.contact_id FROM {Conversation._meta.db_table} c "
                f"JOIN {Ticket._meta.db_table} t ON t.id = c.ticket_id WHERE c.id = ANY(%s::uuid[]) "
                f"ORDER BY c.id FOR UPDATE OF c", [ids])
            rows = cursor.fetchall()
    else:
        # SQLite ignores the row lock: its transactions begin IMMEDIATE (settings.DATABASES), so
        # this one holds the database's write lock from its first statement to its commit.
        rows = (Conversation.objects.select_for_update(of=("self",)).filter(pk__in=ids).order_by("pk")
                .values_list("id", "last_seq", "state", "visitor_name", "visitor_email", "ticket_id",
                             "ticket__reference", "ticket__status", "ticket__first_response_at",
                             "ticket__assignee_id", "ticket__contact_id"))
    return {str(row[0]): LockedConversation(str(row[0]), *row[1:]) for row in rows}


def _known_entries(ids: list[str], client_ids: list[str]) -> dict[tuple, tuple[int, int]]:
    if not client_ids:
        return {}
    if on_postgresql(connection):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT conversation_id, sender, client_id, seq, message_id FROM {Entry._meta.db_table} "
                           f"WHERE conversation_id = ANY(%s::uuid[]) AND client_id = ANY(%s)", [ids, client_ids])
            rows = cursor.fetchall()
    else:
        rows = (Entry.objects.filter(conversation_id__in=ids, client_id__in=client_ids).order_by()
                .values_list("conversation_id", "sender", "client_id", "seq", "message_id"))
    return {(str(c), sender, client): (seq, message) for c, sender, client, seq, message in rows}


_names: dict[int, tuple[str, float]] = {}
NAME_SECONDS = 300


def _display_names(user_ids: set[int]) -> dict[int, str]:
    """Agents' names as visitors see them, cached for a few minutes per process."""
    now = time.monotonic()
    missing = [pk for pk in user_ids if pk not in _names or _names[pk][1] < now]
    if missing:
        for user in get_user_model().objects.filter(pk__in=missing).select_related("agent_profile"):
            _names[user.pk] = (display_name(user), now + NAME_SECONDS)
    return {pk: _names[pk][0] for pk in user_ids if pk in _names}


def needs_ticket_service(item: Outgoing, row: LockedConversation) -> bool:
    """Messages that change the ticket (clocks, status) or carry files take add_message itself."""
    if item.upload is not None:
        return True
    if item.sender == Sender.AGENT:
        return row.first_response_at is None or row.status == Ticket.Status.NEW
    return row.status in (Ticket.Status.PENDING, Ticket.Status.RESOLVED)


@transaction.atomic
def store_messages(items: list[Outgoing]) -> list[Stored | Refused]:
    """Store a batch of messages in one transaction; results are in the order of ``items``.

    A message whose client id was already stored in its conversation is not stored
    again: its first result comes back with ``duplicate=True``.
    """
    now = timezone.now()
    ids = sorted({str(item.conversation_id) for item in items})
    rows = _lock(ids)
    known = _known_entries(ids, sorted({item.client_id for item in items if item.client_id}))
    names = _display_names({item.user_id for item in items if item.user_id})

    results: list[Stored | Refused | None] = [None] * len(items)
    in_batch: dict[tuple, int] = {}
    duplicates: dict[int, tuple[LockedConversation, Outgoing, int, int]] = {}
    accepted: list[tuple[int, Outgoing, LockedConversation]] = []
    for index, item in enumerate(items):
        row = rows.get(str(item.conversation_id))
        if row is None:
            results[index] = Refused("unknown_conversation", _("This conversation does not exist."), item.client_id)
            continue
        key = (row.id, item.sender, item.client_id)
        if item.client_id and key in known:
            duplicates[index] = (row, item, *known[key])
            continue
        if item.client_id and key in in_batch:
            continue            # filled in from its first copy below
        refusal = _refusal(item, row)
        if refusal:
            results[index] = refusal
            continue
        if item.client_id:
            in_batch[key] = index
        accepted.append((index, item, row))

    fast: list[tuple[Outgoing, LockedConversation, Message]] = []

    def flush_fast():
        if not fast:
            return
        messages = [message for *_, message in fast]
        Message.objects.bulk_create(messages)
        languages = dict(Ticket.objects.filter(pk__in={message.ticket_id for message in messages})
                         .values_list("pk", "language"))
        search.index_messages(messages, languages=languages)
        fast.clear()

    stored: list[tuple[int, Outgoing, LockedConversation, int, Message]] = []
    for index, item, row in accepted:
        row.last_seq += 1
        row.dirty = True
        if item.sender == Sender.AGENT and row.state == Conversation.State.WAITING:
            row.state = Conversation.State.ACTIVE
        if needs_ticket_service(item, row):
            flush_fast()        # keep message ids in sequence order
            message = _store_one(item, row, now)
        else:
            message = _new_message(item, row, now)
            fast.append((item, row, message))
        stored.append((index, item, row, row.last_seq, message))
    flush_fast()
    _insert_entries([(row.id, seq, message.pk, item.sender, item.client_id) for _, item, row, seq, message in stored])
    _save_rows([row for row in rows.values() if row.dirty])

    for index, item, row, seq, message in stored:
        author = names.get(item.user_id, "") if item.sender == Sender.AGENT else row.visitor_name
        attachments = _attachments(message) if item.upload else ()
        results[index] = _result(row, seq, message, item.sender, item.client_id, author, attachments=attachments)
    if duplicates:
        messages = Message.objects.prefetch_related("attachments").in_bulk([d[3] for d in duplicates.values()])
        for index, (row, item, seq, message_id) in duplicates.items():
            message = messages[message_id]
            author = display_name(message.author_user) if item.sender == Sender.AGENT else row.visitor_name
            results[index] = _result(row, seq, message, item.sender, item.client_id, author, duplicate=True,
                                     attachments=_attachments(message))
    for index, item in enumerate(items):
        if results[index] is None:      # a second copy within the batch
            first = results[in_batch[(str(item.conversation_id), item.sender, item.client_id)]]
            results[index] = Stored(**{**first.__dict__, "duplicate": True})
    return results


def _result(row: LockedConversation, seq: int, message: Message, sender: str, client_id: str, author: str,
            duplicate: bool = False, attachments=()) -> Stored:
    return Stored(conversation_id=row.id, ticket=row.reference, seq=seq, message_id=message.pk, sender=sender,
                  author=author, body=message.body_text, client_id=client_id, at=message.created_at,
                  assignee_id=row.assignee_id, duplicate=duplicate, attachments=attachments)


def _insert_entries(values: list[tuple]) -> None:
    if not values:
        return
    if on_postgresql(connection):
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO {Entry._meta.db_table} (conversation_id, seq, message_id, sender, client_id) "
                           f"VALUES " + ", ".join(["(%s::uuid, %s, %s, %s, %s)"] * len(values)),
                           [field for value in values for field in value])
    else:
        Entry.objects.bulk_create([Entry(conversation_id=conversation_id, seq=seq, message_id=message_id,
                                         sender=sender, client_id=client_id)
                                   for conversation_id, seq, message_id, sender, client_id in values])


def _save_rows(rows: list[LockedConversation]) -> None:
    if not rows:
        return
    if on_postgresql(connection):
        with connection.cursor() as cursor:
            cursor.execute(f"UPDATE {Conversation._meta.db_table} AS c SET last_seq = v.last_seq, state = v.state "
                           f"FROM (VALUES " + ", ".join(["(%s::uuid, %s::bigint, %s)"] * len(rows)) +
                           ") AS v(id, last_seq, state) WHERE c.id = v.id",
                           [field for row in rows for field in (row.id, row.last_seq, row.state)])
    else:
        Conversation.objects.bulk_update([Conversation(id=row.id, last_seq=row.last_seq, state=row.state)
                                          for row in rows], ["last_seq", "state"])


# The batch writer stores many conversations' lines at once, in no visitor's language: a socket
# says its refusals again in its own conversation's language (``refusal_detail``).
REFUSAL_TEXTS = {
    "closed": gettext_lazy("This chat has ended."),
    "not_assignee": gettext_lazy("Take the chat before writing in it."),
    "unknown_conversation": gettext_lazy("This conversation does not exist."),
}


def refusal_detail(refused: Refused) -> str:
    """A refusal's text in the active language."""
    text = REFUSAL_TEXTS.get(refused.code)
    return str(text) if text is not None else refused.detail


def _refusal(item: Outgoing, row: LockedConversation) -> Refused | None:
    if row.state == Conversation.State.ENDED:
        return Refused("closed", str(REFUSAL_TEXTS["closed"]), item.client_id)
    if item.sender == Sender.AGENT and row.assignee_id != item.user_id and not item.may_override:
        return Refused("not_assignee", str(REFUSAL_TEXTS["not_assignee"]), item.client_id)
    if item.sender not in Sender.values:
        return Refused("bad_sender", "unknown sender", item.client_id)
    return None


def _direction(item: Outgoing) -> str:
    return Message.Direction.OUTBOUND if item.sender == Sender.AGENT else Message.Direction.INBOUND


def _new_message(item: Outgoing, row: LockedConversation, now: datetime) -> Message:
    return Message(ticket_id=row.ticket_id, direction=_direction(item), body_text=item.body,
                   author_user_id=item.user_id if item.sender == Sender.AGENT else None,
                   author_contact_id=row.contact_id if item.sender == Sender.VISITOR else None,
                   external_id=external_id(row.id, item.sender, item.client_id), channel=Channel.CHAT,
                   created_at=now)


def _store_one(item: Outgoing, row: LockedConversation, now: datetime) -> Message:
    ticket = Ticket.objects.select_related("contact").get(pk=row.ticket_id)
    user = get_user_model().objects.get(pk=item.user_id) if item.sender == Sender.AGENT else None
    message = actions.add_message(
        ticket=ticket, direction=_direction(item), body=item.body, author_user=user,
        author_contact=ticket.contact if item.sender == Sender.VISITOR else None,
        external_id=external_id(row.id, item.sender, item.client_id), channel=Channel.CHAT, created_at=now,
        history=False)
    if item.upload is not None:
        tickets.add_attachment(message=message, filename=item.upload.filename,
                               content_type=item.upload.content_type, data=item.upload.data)
    row.status, row.first_response_at = ticket.status, ticket.first_response_at
    return message


def store_message(item: Outgoing) -> Stored | Refused:
    return store_messages([item])[0]


def send_file(item: Outgoing) -> Stored | Refused:
    """Store a file's message (from an HTTP upload, either side) and push it to the other side."""
    from apps.chat import events

    result = store_message(item)
    if isinstance(result, Stored):
        events.publish_sync(events.stored_pushes(result))
    return result


@transaction.atomic
def deliver_agent_message(*, ticket: Ticket, message: Message) -> Stored | None:
    """The chat's ``deliver_reply`` (channel registry): a console reply joins the conversation, reaches the visitor.

    Runs inside the reply's transaction; the push waits for its commit. ``None`` when the chat
    cannot carry it: there is none, or it has ended (the console then sends the reply by email).
    """
    from apps.chat import events

    conversation = (Conversation.objects.select_for_update(of=("self",)).select_related("ticket")
                    .filter(ticket=ticket).first())
    if conversation is None or conversation.state == Conversation.State.ENDED:
        return None
    delivered = Entry.objects.filter(message=message).first()
    if delivered is not None:      # called again for the same reply: it is in the chat already
        return _stored(conversation, delivered, message, display_name(message.author_user),
                       attachments=_attachments(message))
    conversation.last_seq += 1
    if conversation.state == Conversation.State.WAITING:
        conversation.state = Conversation.State.ACTIVE
    conversation.save(update_fields=["last_seq", "state"])
    entry = Entry.objects.create(conversation=conversation, seq=conversation.last_seq, message=message,
                                 sender=Sender.AGENT)
    stored = _stored(conversation, entry, message, display_name(message.author_user),
                     attachments=_attachments(message))
    transaction.on_commit(lambda: events.publish_sync(events.stored_pushes(stored)))
    return stored


# --- the rest of the conversation ---------------------------------------------

def mark_read(*, conversation_id, side: str, seq: int) -> int:
    """Record how far one side has read (never backwards, never past the last message)."""
    name = "agent_read_seq" if side == Sender.AGENT else "visitor_read_seq"
    Conversation.objects.filter(pk=conversation_id).update(**{name: Greatest(F(name), Least(seq, F("last_seq")))})
    return Conversation.objects.filter(pk=conversation_id).values_list(name, flat=True).first() or 0


RATING_COMMENT_CHARS = 2000


@transaction.atomic
def rate_conversation(*, conversation_id, rating: str, comment: str = "") -> Conversation:
    """The visitor's answer to "How was this chat?" once it has ended: kept on the conversation
    and in its ticket's history for the agents. Rating again replaces the rating."""
    if rating not in Rating.values:
        raise ChatError("bad_rating", _("Rate the chat as good or bad."))
    conversation = (Conversation.objects.select_for_update(of=("self",)).select_related("ticket")
                    .filter(pk=conversation_id).first())
    if conversation is None:
        raise ChatError("unknown_conversation", _("This conversation does not exist."))
    if conversation.state != Conversation.State.ENDED:
        raise ChatError("not_ended", _("A chat can be rated once it has ended."))
    conversation.rating, conversation.rated_at = rating, timezone.now()
    conversation.rating_comment = comment.strip()[:RATING_COMMENT_CHARS]
    conversation.save(update_fields=["rating", "rating_comment", "rated_at"])
    # The chat's lines are on the survivor when its ticket was merged: the rating goes with them.
    actions.record_chat(ticket=surviving(conversation.ticket), data=vocabulary.Chat(
        event="rated", rating=rating, comment=conversation.rating_comment or None))
    return conversation


ENDED_BY_DESK = "desk"


def end_idle_conversations(*, now: datetime | None = None) -> int:
    """End the chats with an agent where nobody has written for ``CHAT_IDLE_END_MINUTES``.

    A visitor who closed the page never ends the chat; left open, an agent's later reply
    would go into a chat nobody reads. Ended, it goes by email (console.services.reply).
    Chats still waiting for an agent are left to the queue and its SLA clock.
    """
    if settings.CHAT_IDLE_END_MINUTES <= 0:
        return 0
    cutoff = (now or timezone.now()) - timedelta(minutes=settings.CHAT_IDLE_END_MINUTES)
    last_line = Entry.objects.filter(conversation=OuterRef("pk")).order_by("-seq").values("message__created_at")[:1]
    idle = (Conversation.objects.filter(state=Conversation.State.ACTIVE, started_at__lt=cutoff)
            .annotate(last_at=Coalesce(Subquery(last_line), F("started_at"))).filter(last_at__lt=cutoff)
            .values_list("pk", flat=True))
    ended = 0
    for conversation_id in list(idle):
        conversation = end_conversation(conversation_id=conversation_id, by=ENDED_BY_DESK)
        ended += conversation is not None and conversation.ended_by == ENDED_BY_DESK
    return ended


@transaction.atomic
def end_conversation(*, conversation_id, by: str, user=None) -> Conversation | None:
    """End the chat; the transcript stays on the ticket, and its history says who ended it
    (an event each reader sees in their own language)."""
    conversation = (Conversation.objects.select_for_update(of=("self",)).select_related("ticket")
                    .filter(pk=conversation_id).first())
    if conversation is None or conversation.state == Conversation.State.ENDED:
        return conversation
    conversation.state, conversation.ended_at, conversation.ended_by = Conversation.State.ENDED, timezone.now(), by
    conversation.save(update_fields=["state", "ended_at", "ended_by"])
    ended = vocabulary.Chat(event="ended", by=by)
    if by == ENDED_BY_DESK:
        ended = vocabulary.Chat(event="ended", by=by, idle_minutes=settings.CHAT_IDLE_END_MINUTES)
    elif by != Sender.VISITOR:
        ended = vocabulary.Chat(event="ended", by="agent", agent=display_name(user))
    actions.record_chat(ticket=conversation.ticket, data=ended, user=user)
    from apps.chat import events

    transaction.on_commit(lambda: events.publish_sync(events.ended_pushes(conversation, by=by)))
    return conversation


MOVED_TO_EMAIL = "email"


@transaction.atomic
def move_to_email(*, conversation_id, at: datetime | None = None) -> Conversation:
    """The waiting visitor would rather be answered by email: the chat ends, the ticket becomes async work.

    Only before an agent has the chat. The live answer target is set aside and the email clock
    starts (``actions.live_to_async``); an agent's reply then goes by email, as after any ended
    chat, to the address the visitor gave. Asking twice changes nothing the second time.
    """
    at = at or timezone.now()
    conversation = (Conversation.objects.select_for_update(of=("self",)).select_related("ticket")
                    .filter(pk=conversation_id).first())
    if conversation is None:
        raise ChatError("unknown_conversation", _("This conversation does not exist."))
    if conversation.ended_by == MOVED_TO_EMAIL:
        return conversation
    if conversation.state != Conversation.State.WAITING or conversation.ticket.assignee_id:
        raise ChatError("not_waiting", _("An agent has already joined this chat."))
    conversation.state, conversation.ended_at, conversation.ended_by = Conversation.State.ENDED, at, MOVED_TO_EMAIL
    conversation.save(update_fields=["state", "ended_at", "ended_by"])
    actions.record_chat(ticket=conversation.ticket, data=vocabulary.Chat(event="ended", by=MOVED_TO_EMAIL))
    actions.live_to_async(ticket=conversation.ticket, at=at, reason="chat")
    from apps.chat import events

    transaction.on_commit(lambda: events.publish_sync(events.ended_pushes(conversation, by=MOVED_TO_EMAIL)))
    return conversation


def live_while(ticket) -> bool:
    """The channel registry's test: a chat is live work unless its visitor chose an answer by email."""
    return not Conversation.objects.filter(ticket=ticket, ended_by=MOVED_TO_EMAIL).exists()


def in_progress(ticket) -> bool:
    """The channel registry's ``in_progress``: the visitor's chat has not ended (waiting, or with an agent),
    so an agent's line reaches them live and the ticket cannot be merged away."""
    return Conversation.objects.filter(ticket=ticket).exclude(state=Conversation.State.ENDED).exists()


def agent_joined(*, conversation_id, user) -> Conversation | None:
    """The assignee opened the chat: the visitor learns the agent's name."""
    from apps.chat import events

    updated = Conversation.objects.filter(pk=conversation_id, state=Conversation.State.WAITING,
                                          ticket__assignee=user).update(state=Conversation.State.ACTIVE)
    if not updated:
        return None
    conversation = Conversation.objects.get(pk=conversation_id)
    events.publish_sync([events.visitor_push(conversation.pk, {"type": "agent", "name": display_name(user)})])
    return conversation


def request_transcript(*, conversation_id) -> str:
    """Email the transcript to the address the visitor gave; at most once per 10 minutes."""
    conversation = Conversation.objects.filter(pk=conversation_id).first()
    if conversation is None or not conversation.visitor_email:
        raise ChatError("no_email", _("We have no email address for this chat."))
    if not cache.add(f"chat:transcript:{conversation.pk}", 1, TRANSCRIPT_EVERY_SECONDS):
        raise ChatError("rate_limited", _("The transcript was sent a moment ago; please check your inbox."))
    from apps.chat.transcripts import send_transcript_later

    send_transcript_later(conversation)
    return conversation.visitor_email
