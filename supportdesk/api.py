"""The REST API: one NinjaAPI collecting each app's router (wiring only)."""

import logging
import re

from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import HttpError

from apps.accounts.api_auth import DeskToken
from apps.chat.api import router as chat_router
from apps.desk.api import router as desk_router
from apps.feedback.api import router as feedback_router
from apps.owners.api import router as owners_router
from apps.sla.api import router as sla_router
from apps.tickets.api import router as tickets_router
from supportdesk.api_errors import declare_errors
from supportdesk.middleware import bad_input_response

api = NinjaAPI(title="Support desk API", version="1", auth=DeskToken(),
               description="Tickets, SLA and availability of the support desk. Agents, the User Support "
                           "Manager and superusers authenticate with `Authorization: Bearer <token>`; "
                           "an agent's token sees the tickets of their queues and their own.")
api.add_router("", tickets_router)
api.add_router("", desk_router)
api.add_router("", owners_router)
api.add_router("", sla_router)
api.add_router("", feedback_router)  # its own auth: the installation's X-Api-Key
api.add_router("", chat_router)  # public: the widget; a visitor token guards each conversation
declare_errors(api)  # after the last router: the errors no view declares itself


log = logging.getLogger("supportdesk.api")


@api.exception_handler(Exception)
def unexpected_error(request, exc):
    """A fault of ours: logged with its traceback, answered without it (in DEBUG too).

    django-ninja's own handler returns the traceback as the body whenever DEBUG is on.
    """
    log.error("API error on %s %s", request.method, request.path, exc_info=exc)
    return api.create_response(request, {"detail": _("Something went wrong on our side. It has been logged.")},
                               status=500)
# A body Django cannot read is the client's mistake: a 400 it can act on, never ninja's 500 (it answers
# any other exception with a 500 and, in DEBUG, a traceback).
@api.exception_handler(MultiPartParserError)
def unreadable_multipart(request, exc):
    return bad_input_response(request, _("The body is not valid multipart/form-data."))


TRIAGE_PATH = re.compile(r"^/api/tickets/[^/]+/triage/?$")


@api.exception_handler(HttpError)
def http_error(request, exc):
    """ninja's own answer, except that a triage body which is not JSON is a bad body: 422, as DESIGN.md says."""
    if exc.status_code == 400 and request.method == "POST" and TRIAGE_PATH.match(request.path):
        return api.create_response(request, {"detail": _("The body is not valid JSON.")}, status=422)
    return api.create_response(request, {"detail": str(exc)}, status=exc.status_code)


@api.exception_handler(SuspiciousOperation)
@api.exception_handler(BadRequest)
def malformed_request(request, exc):
    return bad_input_response(request, _("The request is malformed."))
