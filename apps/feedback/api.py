"""``POST /api/feedback``: the desktop app's "Send Feedback" reports (edge: parse, validate, call, answer).

Authenticated by the installation's own key in ``X-Api-Key``, not by the staff
bearer token. The body is JSON (attachments base64-encoded) or multipart/form-data
(attachments as files named ``attachments``); both are validated by one form and
answered 400 with the failing fields.
"""

import json

from django.core.exceptions import RequestDataTooBig
from django.utils.translation import gettext as _
from ninja import Router, Schema
from ninja.responses import Status
from ninja.security import APIKeyHeader

from apps.feedback import services
from apps.feedback.forms import FeedbackForm, attachments_from_json

router = Router(tags=["feedback"])


class InstallationKey(APIKeyHeader):
    param_name = "X-Api-Key"

    def authenticate(self, request, key):
        return services.authenticate_key(key or "")


class FieldError(Schema):
    field: str
    message: str


class ErrorsOut(Schema):
    detail: list[FieldError]


class ReportOut(Schema):
    reference: str
    status: str
    channel: str
    language: str


ATTACHMENT_SCHEMA = {
    "type": "object",
    "required": ["filename", "content_base64"],
    "properties": {
        "filename": {"type": "string", "maxLength": 255},
        "content_type": {"type": "string", "example": "image/png"},
        "content_base64": {"type": "string", "format": "byte"},
    },
}
REPORT_FIELDS = {
    "user_email": {"type": "string", "format": "email"},
    "language": {"type": "string", "enum": ["en", "sv", "es", "de", "zh-hans", "ja"],
                 "description": "Also accepts tags such as sv-SE or zh-CN."},
    "product": {"type": "string", "default": "core", "description": "core, or an extension slug"},
    "app_version": {"type": "string", "maxLength": 50},
    "os": {"type": "string", "maxLength": 100, "example": "Windows 11 23H2",
           "description": "The operating system the app runs on, as the app names it."},
    "device": {"type": "string", "maxLength": 100, "example": "Dell Precision 5570",
               "description": "The computer's model or kind, as the app names it."},
    "message": {"type": "string"},
    "report_id": {"type": "string", "maxLength": 100,
                  "description": "The app's id for this report; a retry with the same id opens no second ticket."},
}
REQUIRED = ["user_email", "language", "app_version", "message"]
REQUEST_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {
            "type": "object", "required": REQUIRED,
            "properties": {**REPORT_FIELDS, "attachments": {"type": "array", "items": ATTACHMENT_SCHEMA}}}},
        "multipart/form-data": {"schema": {
            "type": "object", "required": REQUIRED,
            "properties": {**REPORT_FIELDS, "attachments": {
                "type": "array", "items": {"type": "string", "format": "binary"}}}}},
    },
}


def _errors(form_errors: dict, extra: list[str] = ()) -> Status:
    detail = [{"field": "attachments" if field == "__all__" else field, "message": str(message)}
              for field, messages in form_errors.items() for message in messages]
    detail += [{"field": "attachments", "message": message} for message in extra]
    return Status(400, {"detail": detail})


@router.post("/feedback", auth=InstallationKey(), response={201: ReportOut, 400: ErrorsOut, 413: ErrorsOut},
             summary="Submit a \"Send Feedback\" report from the desktop app",
             description="Opens a feedback ticket (8 h response target). Send JSON, or multipart/form-data "
                         "with files in `attachments` (logs and screenshots; size and type limits apply).",
             openapi_extra={"requestBody": REQUEST_BODY})
def submit_feedback(request):
    content_type = (request.content_type or "").lower()
    if content_type.startswith("multipart/"):
        data, files, extra = request.POST, request.FILES.getlist("attachments"), []
    else:
        try:
            data = json.loads(request.body or b"{}")
        except RequestDataTooBig:
            return Status(413, {"detail": [{"field": "attachments", "message": _(
                "The report is too large; send attachments as multipart/form-data.")}]})
        except (ValueError, UnicodeDecodeError):
            return Status(400, {"detail": [{"field": "body", "message": _("The body is not valid JSON.")}]})
        if not isinstance(data, dict):
            return Status(400, {"detail": [{"field": "body", "message": _("The body must be a JSON object.")}]})
        files, extra = attachments_from_json(data.pop("attachments", None))
    form = FeedbackForm(data, attachments=files)
    if not form.is_valid() or extra:
        return _errors(form.errors, extra)
    report = services.Report(
        **{name: form.cleaned_data[name] for name in
           ("user_email", "language", "product", "app_version", "os", "device", "message", "report_id")},
        attachments=tuple(services.ReportAttachment(filename=upload.name, content_type=upload.content_type,
                                                    data=upload.read()) for upload in files),
    )
    ticket = services.submit_report(api_key=request.auth, report=report)
    return Status(201, {"reference": ticket.reference, "status": ticket.status, "channel": ticket.channel,
                        "language": ticket.language})
