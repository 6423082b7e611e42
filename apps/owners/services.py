"""Writes for owners: granting and revoking the two administrative seats."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from apps.accounts.roles import Role
from apps.accounts.services import ensure_role_groups
from apps.owners.models import ADMIN_SEATS_PER_OWNER, ExtensionOwner, OwnerAdmin


class SeatLimitReached(Exception):
    """The owner already uses both administrative seats."""


def free_seat(owner: ExtensionOwner) -> int | None:
    taken = set(owner.admins.values_list("seat", flat=True))
    return next((seat for seat in range(1, ADMIN_SEATS_PER_OWNER + 1) if seat not in taken), None)


def seat_limit_message(owner: ExtensionOwner) -> str:
    return _("%(owner)s already has %(count)d administrators; revoke one before adding another.") % {
        "owner": owner.name, "count": ADMIN_SEATS_PER_OWNER}


@transaction.atomic
def grant_owner_admin(*, owner: ExtensionOwner, user) -> OwnerAdmin:
    """Give ``user`` a free admin seat of ``owner``; idempotent for an existing holder."""
    # Lock the owner row so two grants cannot both see the same free seat.
    owner = ExtensionOwner.objects.select_for_update().get(pk=owner.pk)
    existing = OwnerAdmin.objects.filter(user=user).first()
    if existing and existing.owner_id == owner.pk:
        return existing
    if existing:
        raise ValueError(_("%(user)s is already an administrator of %(owner)s.") % {
            "user": user.username, "owner": existing.owner.name})
    seat = free_seat(owner)
    if seat is None:
        raise SeatLimitReached(seat_limit_message(owner))
    try:
        with transaction.atomic():
            admin = OwnerAdmin.objects.create(owner=owner, user=user, seat=seat)
    except IntegrityError as error:
        raise SeatLimitReached(seat_limit_message(owner)) from error
    user.groups.add(ensure_role_groups()[Role.OWNER_ADMIN])
    return admin


@transaction.atomic
def revoke_owner_admin(*, owner: ExtensionOwner, user) -> None:
    deleted, _count = OwnerAdmin.objects.filter(owner=owner, user=user).delete()
    if deleted:
        user.groups.remove(*user.groups.filter(name=Role.OWNER_ADMIN))
