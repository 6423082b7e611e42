"""Reads of tickets shaped for the API and screens; no writes here.

Each read takes the user it is for and returns only what the ticket access rule
(``apps.tickets.access``) lets them see: outside it, a ticket does not exist.
"""

from datetime import datetime

from django.db.models import Case, Exists, F, IntegerField, OuterRef, Prefetch, Q, QuerySet, Value, When

from apps.policy.languages import Language
from apps.tickets import search
from apps.tickets.access import visible
from apps.tickets.models import Attachment, Contact, Message, Ticket


def ticket_detail_queryset() -> QuerySet[Ticket]:
    return Ticket.objects.select_related("contact", "region", "extension", "queue", "merged_into").prefetch_related(
        Prefetch("messages", queryset=Message.objects.order_by("created_at", "pk").prefetch_related(
            Prefetch("attachments", queryset=Attachment.objects.order_by("pk")))),
        "sla_targets",
    )


def surviving(ticket: Ticket | None) -> Ticket | None:
    """The ticket a user's later words about ``ticket`` belong on: itself, or, once it was merged, the end of
    its ``merged_into`` chain (a survivor may itself be merged later). None stays None.

    Every inbound path that finds a ticket by what the user refers to (a mail's Message-IDs, token or
    tag, a feedback report sent again, a chat rated after it ended, a voicemail's recording) goes through
    this, so a merged ticket, closed and out of every worklist, never catches a reply nobody would see.
    """
    seen = set()
    while ticket is not None and ticket.merged_into_id is not None and ticket.pk not in seen:
        seen.add(ticket.pk)
        ticket = Ticket.objects.select_related("contact").get(pk=ticket.merged_into_id)
    return ticket


def ticket_by_reference(reference: str, *, user) -> Ticket | None:
    return visible(ticket_detail_queryset(), user=user).filter(reference=reference.upper()).first()


def attachment(*, reference: str, attachment_id: int, user) -> Attachment | None:
    """A file of the ticket ``reference``; an id from another ticket finds nothing."""
    files = visible(Attachment.objects.select_related("message__ticket"), user=user, prefix="message__ticket__")
    return files.filter(pk=attachment_id, message__ticket__reference=reference.upper()).first()


def ticket_list(*, user, channel: str = "", language: str = "", status: str = "", since: datetime | None = None,
                until: datetime | None = None, region: str = "", extension: str = "", owner: str = "",
                breached: bool | None = None, q: str = "", assignee: str = "") -> QuerySet[Ticket]:
    """Tickets filtered as the API's list asks, newest first; with ``q``, those matching it, best first.

    ``assignee``: "me" (``user``), "none" (unassigned) or an agent's id.
    """
    related = Ticket.objects.select_related("contact", "region", "extension", "merged_into")
    tickets = visible(related, user=user).order_by("-received_at", "-pk")
    if channel:
        tickets = tickets.filter(channel=channel)
    if language:
        tickets = tickets.filter(language=language)
    if status:
        tickets = tickets.filter(status=status)
    if since:
        tickets = tickets.filter(received_at__gte=since)
    if until:
        tickets = tickets.filter(received_at__lt=until)
    if region:
        tickets = tickets.filter(region__slug=region)
    if extension:
        tickets = tickets.filter(extension__slug=extension)
    if owner:
        tickets = tickets.filter(extension__owner__slug=owner)
    if assignee:
        tickets = _assigned(tickets, assignee=assignee, user=user)
    if breached is not None:
        tickets = tickets.filter(Exists(_breached_targets()) if breached else ~Exists(_breached_targets()))
    if q:
        tickets = search.ranked(tickets, q, languages=[language] if language else list(Language.values))
    return tickets


def _assigned(tickets: QuerySet[Ticket], *, assignee: str, user) -> QuerySet[Ticket]:
    if assignee == "none":
        return tickets.filter(assignee__isnull=True)
    if assignee == "me":
        return tickets.filter(assignee_id=user.pk)
    return tickets.filter(assignee_id=int(assignee)) if assignee.isdigit() else tickets.none()


RESOLVED = (Ticket.Status.RESOLVED, Ticket.Status.CLOSED)


def similar_resolved(ticket: Ticket, *, user, limit: int = 5) -> list[Ticket]:
    """Resolved or closed tickets like ``ticket`` that ``user`` may open: its language first, then best match.

    Searched on the subject and the first message the user wrote (``search.similar_to``: a few
    distinctive words, any of which matches), so the agent triaging ``ticket`` sees how the
    same question was triaged before. A ticket merged into another was not resolved: it is left out.
    """
    first = ticket.messages.filter(direction=Message.Direction.INBOUND).order_by("created_at", "pk").first()
    query = search.similar_to(ticket.subject, first.body_text if first else "")
    if not query:
        return []
    tickets = (visible(Ticket.objects.select_related("extension"), user=user)
               .filter(status__in=RESOLVED, merged_into__isnull=True).exclude(pk=ticket.pk))
    found = search.ranked(tickets, query, languages=list(Language.values)).annotate(
        same_language=Case(When(language=ticket.language, then=Value(1)), default=Value(0),
                           output_field=IntegerField()))
    return list(found.order_by("-same_language", "-search_rank", "-received_at", "-pk")[:limit])


def breached_ids(ticket_ids: list[int]) -> set[int]:
    """Which of these tickets have an SLA target breached or met late (one query, for a page or an export)."""
    targets = Ticket._meta.get_field("sla_targets").related_model.objects
    return set(targets.filter(Q(breached_at__isnull=False) | Q(met_at__gt=F("due_at")), ticket_id__in=ticket_ids)
               .values_list("ticket_id", flat=True).distinct())


def _breached_targets() -> QuerySet:
    """The ticket's SLA targets that were breached, or met after their deadline (``SlaTarget.breached``)."""
    targets = Ticket._meta.get_field("sla_targets").related_model.objects
    return targets.filter(Q(breached_at__isnull=False) | Q(met_at__gt=F("due_at")), ticket_id=OuterRef("pk"))


def jira_key_of(ticket: Ticket) -> str | None:
    """The owner's Jira issue key, once the ticket has been forwarded."""
    link = getattr(ticket, "jira_link", None)
    return getattr(link, "issue_key", None) or None


def contact_for(*, contact_id: int, user) -> Contact | None:
    """The person, if ``user`` may see at least one of their tickets; otherwise they do not exist for ``user``."""
    if not visible(Ticket.objects.filter(contact_id=contact_id), user=user).exists():
        return None
    return Contact.objects.select_related("region").filter(pk=contact_id).first()


def contact_tickets(*, contact: Contact, user) -> QuerySet[Ticket]:
    """Every ticket, chat, call and email of ``contact`` that ``user`` may see (the access rule), newest first."""
    return (visible(Ticket.objects.filter(contact=contact), user=user)
            .select_related("assignee__agent_profile", "merged_into").order_by("-received_at", "-pk"))


def merge_targets(ticket: Ticket, *, user) -> QuerySet[Ticket]:
    """The person's other open tickets ``user`` may act on: where ``ticket`` may be merged."""
    return (contact_tickets(contact=ticket.contact, user=user).exclude(pk=ticket.pk)
            .exclude(status__in=RESOLVED).filter(merged_into__isnull=True))
