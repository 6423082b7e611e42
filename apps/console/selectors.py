"""Reads for the console: queue screens, the ticket view, event payloads for the websocket."""

from django.db.models import Count, Q, QuerySet, TextChoices
from django.db.models.functions import Substr
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.accounts.names import display_name
from apps.console.models import SavedSearch
from apps.sla.models import SlaTarget
from apps.tickets import channels, search
from apps.tickets.access import visible_tickets
from apps.tickets.models import CannedResponse, Message, Ticket, TicketEvent

WAITING = ("new", "open", "pending")


def _iso(value):
    return value.isoformat() if value else None


def sla_payload(targets) -> list[dict]:
    return [{"kind": t.kind, "due_at": _iso(t.due_at), "warn_at": _iso(t.warn_at), "met_at": _iso(t.met_at),
             "breached": t.breached, "not_applicable": t.not_applicable_at is not None} for t in targets]


def ticket_payload(ticket: Ticket, *, live: bool) -> dict:
    """The ticket as a console row shows it; ``live``: a person waits on it now (``channels.live_ones``)."""
    return {
        "reference": ticket.reference, "channel": ticket.channel, "language": ticket.language, "live": live,
        "status": ticket.status, "subject": ticket.subject, "queue": ticket.queue_id,
        "assignee_id": ticket.assignee_id,
        "assignee": display_name(ticket.assignee) if ticket.assignee_id else None,
        "contact": str(ticket.contact), "received_at": _iso(ticket.received_at),
        "scope": ticket.scope, "category": ticket.category,
        "sla": sla_payload(ticket.sla_targets.all()),
    }


def message_payload(message: Message) -> dict:
    author = display_name(message.author_user) if message.author_user_id else str(message.author_contact or "")
    return {"id": message.pk, "direction": message.direction, "body_text": message.body_text,
            "automatic": message.automatic, "author": author, "created_at": _iso(message.created_at),
            "channel": message.channel}


def event_payloads(event_ids: list[int]) -> list[dict]:
    """Websocket payloads for events, in id order, each with its ticket's current state.

    A batch holds several events of one ticket (a call queued, offered, its clock started): each
    ticket is read and described once, and its events share that description.
    """
    events = list(TicketEvent.objects.filter(pk__in=event_ids).select_related("actor__agent_profile").order_by("pk"))
    tickets = list(Ticket.objects.filter(pk__in={event.ticket_id for event in events})
                   .select_related("assignee__agent_profile", "contact").prefetch_related("sla_targets"))
    live = channels.live_ones(tickets)
    described = {ticket.pk: ticket_payload(ticket, live=ticket.pk in live) for ticket in tickets}
    message_ids = [e.data.get("message_id") for e in events if e.kind == TicketEvent.Kind.MESSAGE]
    messages = {m.pk: m for m in Message.objects.filter(pk__in=[i for i in message_ids if i])
                .select_related("author_user__agent_profile", "author_contact")}
    payloads = []
    for event in events:
        if event.ticket_id not in described:        # deleted between the two reads: nothing to show
            continue
        payload = {
            "type": "ticket.event", "id": event.pk, "kind": event.kind, "data": event.data,
            "at": _iso(event.created_at), "actor": display_name(event.actor) if event.actor_id else event.actor_label,
            "by_desk": not event.actor_id and event.actor_label in TicketEvent.SYSTEM_ACTORS,
            "ticket": described[event.ticket_id],
        }
        message = messages.get(event.data.get("message_id"))
        if message is not None:
            payload["message"] = message_payload(message)
        payloads.append(payload)
    return payloads


def events_after(*, user, after: int, limit: int = 1000) -> list[dict]:
    """What a reconnecting console missed since its cursor."""
    ids = list(TicketEvent.objects.filter(pk__gt=after, ticket__in=visible_tickets(user))
               .order_by("pk").values_list("pk", flat=True)[:limit])
    return event_payloads(ids)


def latest_event_id() -> int:
    return TicketEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def live_counts(*, user) -> list[dict]:
    """The console header's counts: unassigned live work per live channel, open async work.

    Labels come from the channel registry; channels sharing a label share a count, keyed
    by the first. A ticket of a live channel that is not live now (a voicemail, a chat
    answered by email) is async work and counted as such. Each count names its channels,
    so the page recounts live from its rows (and their ``data-live``).
    """
    groups: dict[str, dict] = {}
    group_of: dict[str, dict] = {}
    for name, entry in channels.REGISTRY.items():
        group = group_of[name] = groups.setdefault(str(entry.waiting_label), {
            "key": name, "label": str(entry.waiting_label), "live": entry.live, "channels": [], "count": 0})
        group["channels"].append(name)
    waiting = visible_tickets(user).filter(status__in=WAITING)
    of_live_channels = list(waiting.filter(channel__in=channels.live_channels()).only("pk", "channel", "assignee",
                                                                                       "external_ref"))
    live = channels.live_ones(of_live_channels)
    async_group = next(group for group in groups.values() if not group["live"])
    async_group["count"] = waiting.exclude(channel__in=channels.live_channels()).count()
    for ticket in of_live_channels:
        if ticket.pk not in live:
            async_group["count"] += 1
        elif ticket.assignee_id is None:
            group_of[ticket.channel]["count"] += 1
    return list(groups.values())


def ticket_view(*, reference: str) -> Ticket | None:
    return (Ticket.objects.select_related("contact", "region", "extension", "queue", "assignee__agent_profile")
            .prefetch_related("messages__attachments", "messages__author_user__agent_profile",
                              "events__actor__agent_profile", "sla_targets")
            .filter(reference=reference).first())


def breached_targets(limit: int = 100) -> QuerySet[SlaTarget]:
    return (SlaTarget.objects.filter(breached_at__isnull=False, met_at__isnull=True,
                                     ticket__status__in=WAITING)
            .select_related("ticket").order_by("-breached_at")[:limit])


def agent_overview() -> list[dict]:
    """Every agent's presence and live load, for the manager."""
    from django.contrib.auth import get_user_model

    users = (get_user_model().objects.filter(is_active=True, agent_profile__isnull=False)
             .select_related("agent_profile", "agent_state").order_by("username"))
    load = dict(Ticket.objects.filter(status__in=("new", "open"), assignee__isnull=False)
                .values_list("assignee_id").annotate(n=Count("pk")))
    rows = []
    for user in users:
        state = getattr(user, "agent_state", None)
        rows.append({"user": user, "languages": user.agent_profile.languages,
                     "channels": user.agent_profile.channels,
                     "presence": state.get_presence_display() if state else "—",
                     "last_seen_at": state.last_seen_at if state else None, "open_tickets": load.get(user.pk, 0)})
    return rows


def queue_overview() -> QuerySet:
    from apps.routing.models import Queue

    return Queue.objects.annotate(
        waiting=Count("tickets", filter=Q(tickets__status__in=WAITING, tickets__assignee__isnull=True)),
        open=Count("tickets", filter=Q(tickets__status__in=WAITING)),
    ).order_by("language", "kind")


class Destination(TextChoices):
    """Where the text of the ticket page's one composer goes."""

    LIVE = "live", _("To the visitor, live")
    EMAIL = "email", _("Reply by email")
    NOTE = "note", _("Internal note")
    SHARED_NOTE = "shared_note", _("Note shared with the extension's owner")


def destinations(ticket: Ticket) -> list[str]:
    """Where an agent's text on ``ticket`` may go now, the default first.

    The channel registry says how a reply reaches the user: live while the channel talks
    live (a chat in progress), else by email when an address reaches them; an internal note
    always; a note shared with the owner on an extension ticket.
    """
    ways = []
    if channels.live_delivery(ticket):
        ways.append(Destination.LIVE)
    if channels.later_delivery(ticket):
        ways.append(Destination.EMAIL)
    ways.append(Destination.NOTE)
    if ticket.scope == Ticket.Scope.EXTENSION and ticket.extension_id:
        ways.append(Destination.SHARED_NOTE)
    return ways


SEND_LABELS = {
    Destination.LIVE: _("Send to the visitor"), Destination.EMAIL: _("Send email"),
    Destination.NOTE: _("Add internal note"), Destination.SHARED_NOTE: _("Add shared note"),
}


def composer_choices(ticket: Ticket) -> list[dict]:
    """The composer's destinations for the page: value, label and its button's words, the default first."""
    labels = dict(Destination.choices)
    if ticket.extension_id:
        labels[Destination.SHARED_NOTE] = gettext("Note shared with %(owner)s") % {
            "owner": ticket.extension.owner.name}
    return [{"value": value, "label": labels[value], "send": SEND_LABELS[value]} for value in destinations(ticket)]


def canned_responses(*, ticket: Ticket, agent) -> list[tuple[str, str]]:
    """(title, body) of every canned response in the ticket's language, placeholders filled."""
    contact = ticket.contact
    values = {"name": contact.name or contact.email, "agent": display_name(agent),
              "reference": ticket.reference}
    with translation.override(ticket.language):
        return [(response.title, response.filled(**values)) for response in CannedResponse.objects.order_by("title")]


SNIPPET_CHARS = 80
SNIPPET_SOURCE_CHARS = 2000


def snippets(*, tickets: list[Ticket], q: str) -> dict[int, tuple[str, str, str]]:
    """Per ticket of one results page: (before, match, after) around the first place a message says a word of ``q``.

    Cheap on purpose: one query reads the start of the page's messages, and the match is a
    case-insensitive substring (or the word's first letters, for a stemmed match such as
    "invoices" for "invoice"); a ticket where neither is found simply shows no snippet.
    """
    terms = _snippet_terms(q)
    if not terms or not tickets:
        return {}
    found: dict[int, tuple[str, str, str]] = {}
    heads = (Message.objects.filter(ticket_id__in=[t.pk for t in tickets]).exclude(body_text="")
             .annotate(head=Substr("body_text", 1, SNIPPET_SOURCE_CHARS))
             .order_by("ticket_id", "created_at", "pk").values_list("ticket_id", "head"))
    for ticket_id, head in heads:
        if ticket_id not in found and (hit := _find(head, terms)):
            found[ticket_id] = hit
    return found


def _snippet_terms(q: str) -> list[str]:
    words = [word.strip('"').lower() for word in search.CJK.sub(" ", q).split()]
    terms = [word for word in words if word and not word.startswith("-") and word != "or"]
    return terms + [run.lower() for run in search.CJK.findall(q)]


def _find(text: str, terms: list[str]) -> tuple[str, str, str] | None:
    lower = text.lower()
    for candidates in (terms, [term[:max(4, len(term) - 2)] for term in terms]):
        hits = [(lower.find(term), term) for term in candidates if term and lower.find(term) >= 0]
        if hits:
            at, term = min(hits)
            start = max(0, at - SNIPPET_CHARS // 2)
            end = min(len(text), at + len(term) + SNIPPET_CHARS // 2)
            return (("…" if start else "") + text[start:at], text[at:at + len(term)],
                    text[at + len(term):end] + ("…" if end < len(text) else ""))
    return None


def saved_searches(*, user) -> QuerySet[SavedSearch]:
    """The user's own saved searches, by name; nobody sees another's."""
    return SavedSearch.objects.filter(user=user).order_by("name", "pk")
