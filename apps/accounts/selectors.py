"""Reads of users' roles: who is an agent, who is the User Support Manager, what each may take.

``is_staff`` only opens the admin: it makes nobody an agent. The ticket access rule built on
these reads is ``apps.tickets.access``.
"""

from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.models import Exists, OuterRef, Q, QuerySet

from apps.accounts.roles import Role


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
        """An agent, the manager or a superuser: who may use the console and hold an API token."""
        return self.everything or self.agent


NOBODY = Scope()


def scope_of(user) -> Scope:
    """The user's scope, read fresh in one query (never from a user object's cached profile).

    A profile changed a moment ago, or a deactivated account, applies to the very next
    request or socket frame.
    """
    if user is None or not getattr(user, "is_authenticated", False):
        return NOBODY
    row = (get_user_model().objects.filter(pk=user.pk, is_active=True)
           .annotate(manager=Exists(Group.objects.filter(user=OuterRef("pk"), name=Role.SUPPORT_MANAGER)))
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


def managers() -> QuerySet:
    """Every user ``is_manager`` says yes to, as a query: who hears what only the manager must hear
    (SLA breaches, a forward that cannot happen). The same rule, so nobody is told who may not act."""
    return (get_user_model().objects.filter(is_active=True)
            .filter(Q(is_superuser=True) | Q(groups__name=Role.SUPPORT_MANAGER)).distinct())


def works_tickets(user) -> bool:
    """An agent, the manager or a superuser: the console and API tokens are for them."""
    return scope_of(user).works_tickets
