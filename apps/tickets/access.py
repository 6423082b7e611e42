"""Who may see and act on which ticket: the one rule the console, its sockets, the API and the admin ask.

An agent works the tickets in their languages on their channels, and whatever is assigned to
them; the User Support Manager and superusers work every ticket; nobody else works any
(owner admins have their own portal). ``is_staff`` only opens the admin: it grants no ticket.
The rule comes as a per-object check (``can_act_on``) and as a filter (``visible``,
``visible_tickets``) that always agree. Outside it, a ticket is answered as not found.

The user's scope is read fresh on every call (``scope_of``), so a profile changed a moment
ago applies to the very next request or frame. Roles themselves are accounts' reads,
used here and re-exported so callers ask one module.
"""

from django.db.models import Q, QuerySet

from apps.accounts.selectors import Scope, is_manager, scope_of, works_tickets
from apps.owners.models import ExtensionOwner
from apps.tickets.models import Ticket

__all__ = ["Scope", "allows", "can_act_on", "can_act_on_ticket_id", "is_manager", "owner_of", "owner_tickets",
           "scope_of", "ticket_filter", "visible", "visible_tickets", "works_tickets"]


def allows(scope: Scope, *, language: str, channel: str, assignee_id: int | None) -> bool:
    if scope.everything:
        return True
    if not scope.agent:
        return False
    return assignee_id == scope.user_id or (language in scope.languages and channel in scope.channels)


def ticket_filter(scope: Scope, prefix: str = "") -> Q | None:
    """The rule as a filter on tickets (``prefix`` reaches them from another model); None: no ticket."""
    if scope.everything:
        return Q()
    if not scope.agent:
        return None
    return (Q(**{f"{prefix}assignee_id": scope.user_id})
            | Q(**{f"{prefix}language__in": sorted(scope.languages), f"{prefix}channel__in": sorted(scope.channels)}))


def visible(queryset: QuerySet, *, user=None, scope: Scope | None = None, prefix: str = "") -> QuerySet:
    """``queryset`` narrowed to rows of tickets the user (or ``scope``) may see."""
    rule = ticket_filter(scope if scope is not None else scope_of(user), prefix)
    return queryset.none() if rule is None else queryset.filter(rule)


def visible_tickets(user) -> QuerySet[Ticket]:
    """Every ticket ``user`` may see: the rule as a queryset."""
    return visible(Ticket.objects.all(), user=user)


def can_act_on(user, ticket: Ticket) -> bool:
    """May ``user`` see and act on ``ticket``? One read of the user's scope."""
    return allows(scope_of(user), language=ticket.language, channel=ticket.channel, assignee_id=ticket.assignee_id)


def can_act_on_ticket_id(user, ticket_id: int) -> bool:
    """As ``can_act_on``, for callers holding only the id (a chat frame): two small reads."""
    scope = scope_of(user)
    if scope.everything:
        return True
    return visible(Ticket.objects.filter(pk=ticket_id), scope=scope).exists()


def owner_of(user):
    """The extension owner whose admin seat ``user`` holds (read fresh), or None."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return ExtensionOwner.objects.filter(admins__user_id=user.pk, admins__user__is_active=True).first()


def owner_tickets(user) -> QuerySet[Ticket]:
    """The owner portal's rule: the tickets of the seat holder's own extensions that are the owner's to resolve.

    A functionality question about a Trained Specialist extension stays with the vendor's
    trained agents; a ticket returned as "not ours" is untriaged and leaves the list.
    """
    owner = owner_of(user)
    if owner is None:
        return Ticket.objects.none()
    return (Ticket.objects.filter(scope=Ticket.Scope.EXTENSION, extension__owner=owner)
            .exclude(extension__trained_specialist=True, category=Ticket.Category.FUNCTIONALITY))
