"""Chat reads: a conversation's state for a (re)connecting client, replays, queue position, transcript."""

import statistics
from datetime import timedelta

from django.conf import settings
from django.utils import timezone

from apps.accounts.names import display_name
from apps.chat import events
from apps.chat.models import Conversation, Entry
from apps.chat.services import Stored
from apps.policy.languages import Channel
from apps.routing.services import live_agents_online
from apps.tickets.models import Ticket

WAIT_SAMPLE = 20
WAIT_WINDOW = timedelta(days=7)
REPLAY_LIMIT = 1000


def conversation(*, conversation_id) -> Conversation | None:
    return (Conversation.objects.select_related("ticket__assignee", "ticket__contact")
            .filter(pk=conversation_id).first())


def conversation_language(*, conversation_id) -> str:
    """The conversation's language, "" for an unknown conversation."""
    return Conversation.objects.filter(pk=conversation_id).values_list("language", flat=True).first() or ""


def queue_position(*, ticket: Ticket) -> int:
    """1 + the chats in the same queue that have waited longer and are still waiting for a person."""
    return 1 + Ticket.objects.filter(
        channel=Channel.CHAT, queue_id=ticket.queue_id, assignee__isnull=True, status__in=("new", "open"),
        chat__state=Conversation.State.WAITING, received_at__lt=ticket.received_at).count()


def expected_wait_seconds(*, ticket: Ticket, position: int) -> int | None:
    """An honest estimate: the median wait of recent answered chats in this queue, per place ahead,
    shared by the agents online. ``None`` when there are too few recent chats to say."""
    since = timezone.now() - WAIT_WINDOW
    answered = (Ticket.objects.filter(channel=Channel.CHAT, queue_id=ticket.queue_id, first_response_at__isnull=False,
                                      received_at__gte=since)
                .order_by("-received_at").values_list("received_at", "first_response_at")[:WAIT_SAMPLE])
    waits = [(first - received).total_seconds() for received, first in answered if first >= received]
    if len(waits) < 3:
        return None
    agents = max(1, live_agents_online(language=ticket.language, channel=Channel.CHAT))
    places = -(-position // agents)      # ceil: a place is freed per agent
    return int(statistics.median(waits) * places)


def state_frame(*, conversation: Conversation, type_: str = "hello") -> dict:
    """Everything a client needs after (re)connecting, besides the messages themselves."""
    ticket = conversation.ticket
    frame = {"type": type_, "conversation": str(conversation.pk), "ticket": ticket.reference,
             "state": conversation.state, "ended_by": conversation.ended_by, "last_seq": conversation.last_seq,
             "agent_read_seq": conversation.agent_read_seq, "visitor_read_seq": conversation.visitor_read_seq,
             "agent": {"name": display_name(ticket.assignee)} if ticket.assignee_id else None, "queue": None}
    if conversation.state == Conversation.State.WAITING and not ticket.assignee_id:
        position = queue_position(ticket=ticket)
        expected = expected_wait_seconds(ticket=ticket, position=position)
        frame["queue"] = {"position": position, "expected_wait_seconds": expected,
                          "offer_email": offer_email(conversation=conversation, expected_wait_seconds=expected)}
    return frame


def offer_email(*, conversation: Conversation, expected_wait_seconds: int | None) -> bool:
    """Whether the waiting visitor is offered an answer by email instead: once they have waited
    ``CHAT_OFFER_EMAIL_AFTER_SECONDS`` on the desk's clock, or at once when the wait cannot be estimated."""
    waited = (timezone.now() - conversation.started_at).total_seconds()
    return expected_wait_seconds is None or waited >= settings.CHAT_OFFER_EMAIL_AFTER_SECONDS


def state_frame_of(*, conversation_id, type_: str) -> dict:
    """``state_frame`` for a conversation known by id: what a ping or a resume answers with."""
    return state_frame(conversation=conversation(conversation_id=conversation_id), type_=type_)


def entries_after(*, conversation_id, after: int, limit: int = REPLAY_LIMIT) -> list[Stored]:
    """Stored messages with a sequence number above ``after``, in order."""
    entries = (Entry.objects.filter(conversation_id=conversation_id, seq__gt=after)
               .select_related("message__author_user", "conversation__ticket")
               .prefetch_related("message__attachments").order_by("seq")[:limit])
    result = []
    for entry in entries:
        message, conv = entry.message, entry.conversation
        author = display_name(message.author_user) if entry.sender == Entry.Sender.AGENT else conv.visitor_name
        result.append(Stored(
            conversation_id=str(conv.pk), ticket=conv.ticket.reference, seq=entry.seq, message_id=message.pk,
            sender=entry.sender, author=author, body=message.body_text, client_id=entry.client_id,
            at=message.created_at, assignee_id=conv.ticket.assignee_id,
            attachments=tuple({"id": a.pk, "filename": a.filename, "size": a.size, "content_type": a.content_type}
                              for a in message.attachments.all())))
    return result


def replay_frames(*, conversation_id, after: int, for_agent: bool = False) -> list[dict]:
    build = events.agent_frame if for_agent else events.message_frame
    return [build(stored) for stored in entries_after(conversation_id=conversation_id, after=after)]


def conversation_for_ticket(*, reference: str) -> Conversation | None:
    return Conversation.objects.select_related("ticket").filter(ticket__reference=reference).first()


def transcript(*, conversation_id) -> list[Stored]:
    return entries_after(conversation_id=conversation_id, after=0, limit=100_000)


def attachment(*, conversation_id, attachment_id: int):
    from apps.tickets.models import Attachment

    return Attachment.objects.filter(pk=attachment_id, message__chat_entry__conversation_id=conversation_id).first()
