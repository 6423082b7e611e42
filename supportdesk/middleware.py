"""Refuse input no view can store: NUL in the path, the query, a cookie or a JSON or form body.

PostgreSQL text cannot hold NUL, so such a value reaching a query or an insert was a
500; nor can a UTF-8 column hold an unpaired surrogate, which JSON can spell
(``"\\ud800"``). No field of the desk has a use for either, so one check at the door
answers 400 with a clear message, as JSON under the API (the shape that API's own
errors have) and as text elsewhere, before any view, session or form reads the request. Bodies are checked
only when they are JSON or URL-encoded and small enough to be read into memory
anyway; files, raw mail and large uploads are left to the views that read them.
"""

import json
import re

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils.translation import gettext as _

from supportdesk.text import has_nul

API_PREFIX = "/api/"
# APIs whose documented 400 is a list of field errors rather than ``{"code", "detail"}``.
FIELD_ERROR_APIS = ("/api/feedback",)
_BODY_TYPES = ("application/json", "application/x-www-form-urlencoded")
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def bad_input_response(request: HttpRequest, detail: str, *, field: str = "body") -> HttpResponse:
    """A 400 in the shape the requested API answers its own errors with; plain text outside the API."""
    if request.path.startswith(FIELD_ERROR_APIS):
        return JsonResponse({"detail": [{"field": field, "message": detail}]}, status=400)
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"code": "bad_request", "detail": detail}, status=400)
    return HttpResponseBadRequest(detail, content_type="text/plain; charset=utf-8")


class MalformedInputMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        place = _nul_in(request)
        if place:
            return bad_input_response(
                request, _("The request contains a NUL character or invalid Unicode, which is not allowed."),
                field=place)
        return self.get_response(request)


def _nul_in(request: HttpRequest) -> str:
    """Where the request carries a NUL character ("path", "query", "cookie", "body"), or ""."""
    if has_nul(request.path):
        return "path"
    if any(has_nul(key) or any(has_nul(value) for value in values) for key, values in request.GET.lists()):
        return "query"
    if any(has_nul(value) for value in request.COOKIES.values()):
        return "cookie"
    if request.method in ("POST", "PUT", "PATCH") and _body_unstorable(request):
        return "body"
    return ""


def _body_unstorable(request: HttpRequest) -> bool:
    content_type = (request.content_type or "").lower()
    if content_type not in _BODY_TYPES:
        return False
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    if not length or (limit is not None and length > limit):
        return False
    body = request.body
    if content_type == "application/x-www-form-urlencoded":
        return has_nul(body) or b"%00" in body
    if not (has_nul(body) or b"\\u0000" in body or _SURROGATE_ESCAPE.search(body)):  # most bodies: no parsing
        return False
    try:
        return _unstorable(json.loads(body))
    except ValueError:  # not JSON: the view says so in its own words
        return False


def _unstorable(value) -> bool:
    """NUL or an unpaired surrogate anywhere in a parsed JSON value (a pair decodes to one character)."""
    if isinstance(value, str):
        return has_nul(value) or not _encodable(value)
    if isinstance(value, dict):
        return any(_unstorable(key) or _unstorable(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_unstorable(item) for item in value)
    return False


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
