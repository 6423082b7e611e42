"""The API's error bodies, and the one place that documents which operation can answer which.

An answer the schema does not list is a broken promise to the client (and a failure for the
schema fuzzer, ``tests/test_api_schema_fuzz.py``). Some errors come from no view but from the
layers around it, so each view would otherwise have to repeat them: the bad-input check at the
door (``supportdesk.middleware``, a 400 for any operation), the token check (401), ninja's
validation of declared parameters (422) and a path naming nothing (404, from ``not_found``:
a path parameter holding a ``/`` matches no operation). ``declare_errors``
adds those to each operation that can meet them, leaving what a view declares itself alone.
"""

from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from ninja import NinjaAPI, Schema

from supportdesk.middleware import API_PREFIX


class ErrorOut(Schema):
    """One error: a message for people, and a code for programs where the endpoint gives one."""

    detail: str
    code: str | None = None


class InvalidField(Schema):
    """One parameter that failed validation: where (``["query", "page"]``), what kind, and why."""

    type: str
    loc: list[str | int]
    msg: str


class ValidationErrorOut(Schema):
    detail: list[InvalidField]


def _answers(operation) -> dict[int, type[Schema]]:
    """The error statuses the layers around the view can answer for this operation."""
    answers = {400: ErrorOut}                  # NUL or a malformed body, refused at the door
    if operation.auth_callbacks:
        answers[401] = ErrorOut
    if any(_may_fail_validation(model) for model in operation.models):
        answers[422] = ValidationErrorOut
    if any(model.__ninja_param_source__ == "path" for model in operation.models):
        answers[404] = ErrorOut     # a path parameter holding a "/" matches no operation
    return answers


def _may_fail_validation(params) -> bool:
    """Whether ninja can refuse these parameters: any but a plain string that is always there.

    A path segment is always a string; an optional plain string can only be left out.
    """
    in_path = params.__ninja_param_source__ == "path"
    return any(field.annotation is not str or field.metadata or (field.is_required() and not in_path)
               for field in params.model_fields.values())


def declare_errors(api: NinjaAPI) -> None:
    """Document the surrounding layers' errors on every operation of ``api``; call it after the last router.

    A view declaring one status answers a plain return with it; with these added, a plain return
    is a 200, so a view whose one success is not a 200 returns ``Status(...)``.
    """
    for router in api._get_bound_routers():       # the operations ninja serves and documents
        for path_view in router.path_operations.values():
            for operation in path_view.operations:
                for status, schema in _answers(operation).items():
                    if status not in operation.response_models:
                        operation.response_models[status] = operation._create_response_model(schema)


def not_found(request, exception):
    """Django's 404 view: under the API the JSON error its schema documents, elsewhere Django's page."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": _("The API has no such address.")}, status=404)
    return page_not_found(request, exception)
