"""Who may see and act on which ticket: the one rule the console, its sockets, the API and the admin ask.

An agent works the tickets in their languages on their channels, and whatever is assigned to
them; the User Support Manager and superusers work every ticket; nobody else works any
(owner admins have their own portal). ``is_staff`` only opens the admin: it grants no ticket.

The user's scope is read from the database on every call, never from the ``request.user``
or socket's user object: a profile changed a moment ago, or a deactivated account, applies
to the very next request or frame.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.accounts.roles import Role
from apps.tickets.models import Ticket


@dataclass(frozen=True)
class Scope:
    """What one user may work: everything, or their languages × channels plus their own tickets."""

    user_id: int | None = None
    everything: bool = False
    agent: bool = False
    languages: frozenset[str] = field(default_factory=frozenset)
    channels: frozenset[str] = field(default_factory=frozenset)

    @property
    def works_tickets(self) -> bool:
        """An agent, a manager or a superuser: who may use the console and hold an API token."""
        return self.everything or self.agent

    def allows(self, *, language: str, channel: str, assignee_id: int | None) -> bool:
        if self.everything:
            return True
        if not self.agent:
            return False
        return assignee_id == self.user_id or (language in self.languages and channel in self.channels)

    def allows_ticket(self, ticket: Ticket) -> bool:
        return self.allows(language=ticket.language, channel=ticket.channel, assignee_id=ticket.assignee_id)

    def ticket_filter(self, prefix: str = "") -> Q | None:
        """The rule as a filter on tickets (``prefix`` reaches them from another model); None: nothing."""
        if self.everything:
            return Q()
        if not self.agent:
            return None
        return (Q(**{f"{prefix}assignee_id": self.user_id})
                | Q(**{f"{prefix}language__in": sorted(self.languages), f"{prefix}channel__in": sorted(self.channels)}))

    def filter(self, queryset: QuerySet, prefix: str = "") -> QuerySet:
        """``queryset`` narrowed to the rows of tickets this scope allows."""
        rule = self.ticket_filter(prefix)
        return queryset.none() if rule is None else queryset.filter(rule)


NOBODY = Scope()


def _is_manager_expression():
    return Exists(Group.objects.filter(user=OuterRef("pk"), name=Role.SUPPORT_MANAGER))


def scope_of(user) -> Scope:
    """The user's scope, read fresh in one query."""
    if user is None or not getattr(user, "is_authenticated", False):
        return NOBODY
    row = (get_user_model().objects.filter(pk=user.pk, is_active=True)
           .annotate(manager=_is_manager_expression())
           .values("is_superuser", "manager", "agent_profile__pk", "agent_profile__languages",
                   "agent_profile__channels").first())
    if row is None:
        return NOBODY
    return Scope(user_id=user.pk, everything=row["is_superuser"] or row["manager"],
                 agent=row["agent_profile__pk"] is not None,
                 languages=frozenset(row["agent_profile__languages"] or ()),
                 channels=frozenset(row["agent_profile__channels"] or ()))


def is_manager(user) -> bool:
    """The User Support Manager (or a superuser): sees every ticket, grants owners' seats."""
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or user.groups.filter(name=Role.SUPPORT_MANAGER).exists()


def works_tickets(user) -> bool:
    """An agent, the manager or a superuser: the console and API tokens are for them."""
    return scope_of(user).works_tickets


def can_act_on(user, ticket: Ticket) -> bool:
    """May ``user`` see and act on ``ticket``? Outside the rule a ticket is answered as not found."""
    return scope_of(user).allows_ticket(ticket)


def can_act_on_ticket_id(user, ticket_id: int) -> bool:
    """As ``can_act_on``, for callers holding only the id (a chat frame): two small reads."""
    scope = scope_of(user)
    if scope.everything:
        return True
    return scope.filter(Ticket.objects.filter(pk=ticket_id)).exists()


def visible_tickets(user) -> QuerySet[Ticket]:
    """Every ticket ``user`` may see: the rule as a queryset."""
    return scope_of(user).filter(Ticket.objects.all())
