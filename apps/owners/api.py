"""REST endpoints for owners' administrative seats."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.errors import HttpError
from ninja.responses import Status

from apps.accounts.selectors import is_manager
from apps.owners import services
from apps.owners.models import ExtensionOwner
from supportdesk.api_errors import ErrorOut

router = Router(tags=["owners"])


class SeatIn(Schema):
    username: str


class SeatOut(Schema):
    owner: str
    username: str
    seat: int


def _manager_only(request) -> None:
    if not is_manager(request.auth):
        raise HttpError(403, _("This view is for the User Support Manager."))


@router.post("/owners/{slug}/admins", response={201: SeatOut, 403: ErrorOut, 409: ErrorOut},
             summary="Give a user one of the owner's two admin seats (the User Support Manager only)")
def grant_seat(request, slug: str, payload: SeatIn):
    _manager_only(request)
    owner = get_object_or_404(ExtensionOwner, slug=slug)
    user = get_object_or_404(get_user_model(), username=payload.username)
    try:
        admin = services.grant_owner_admin(owner=owner, user=user)
    except (services.SeatLimitReached, ValueError) as error:
        return Status(409, {"detail": str(error)})
    return Status(201, {"owner": owner.slug, "username": user.username, "seat": admin.seat})


@router.delete("/owners/{slug}/admins/{username}", response={204: None, 403: ErrorOut},
               summary="Free an admin seat (the User Support Manager only)")
def revoke_seat(request, slug: str, username: str):
    _manager_only(request)
    owner = get_object_or_404(ExtensionOwner, slug=slug)
    user = get_object_or_404(get_user_model(), username=username)
    services.revoke_owner_admin(owner=owner, user=user)
    return Status(204, None)
