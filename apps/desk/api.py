"""REST endpoints that change a ticket: they translate HTTP into an action, nothing more.

The ticket access rule applies as in the console: a ticket outside the token user's scope answers 404.
"""

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.responses import Status

from apps.desk import actions
from apps.owners.models import Extension
from apps.tickets import selectors
from apps.tickets.api import TicketOut
from apps.tickets.models import Ticket
from apps.tickets.services import Actor, TicketError
from supportdesk.api_errors import ErrorOut, ValidationErrorOut

router = Router(tags=["tickets"])


class TriageIn(Schema):
    scope: str
    category: str = ""
    extension: str | None = None


@router.post("/tickets/{reference}/triage", response={200: TicketOut, 422: ErrorOut | ValidationErrorOut},
             summary="Triage a ticket: core stays with the vendor, extension goes to its owner")
def triage(request, reference: str, body: TriageIn):
    ticket = selectors.ticket_by_reference(reference, user=request.auth)
    if ticket is None:
        raise Http404(f"no ticket {reference}")
    extension = None
    if body.scope == Ticket.Scope.EXTENSION:
        extension = Extension.objects.select_related("owner").filter(slug=body.extension or "").first()
        if extension is None:
            return Status(422, {"detail": _("Unknown extension %(slug)s.") % {"slug": body.extension or ""}})
    try:
        actions.triage_ticket(ticket=ticket, scope=body.scope, category=body.category, extension=extension,
                              actor=Actor(user=request.auth))
    except TicketError as error:
        return Status(422, {"detail": str(error)})
    return selectors.ticket_by_reference(reference, user=request.auth)
