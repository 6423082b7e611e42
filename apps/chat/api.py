"""Public chat endpoints for the widget: start a conversation, forms, availability, files.

No staff auth: a conversation's own endpoints take the visitor token (header
``X-Chat-Token`` or ``?token=``); starting one is limited per IP address.
"""

import contextlib
import uuid
from datetime import UTC, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from ninja.responses import Status

from apps.chat import events, limits, selectors, services
from apps.chat.models import Entry
from apps.chat.tokens import TokenError, TokenForAnotherConversation, check_visitor_token, visitor_token
from apps.owners.models import Extension
from apps.policy.languages import Channel, Language, normalise_language
from apps.policy.models import ChannelRule
from apps.policy.services import PolicyError, demo_mode_on
from apps.tickets.files import DOWNLOAD_OPENAPI, download_response
from supportdesk.api_errors import ErrorOut
from supportdesk.text import one_line

router = Router(tags=["chat"])


class UnavailableOut(ErrorOut):
    code: str
    mode: str
    next_opening: datetime | None = None
    checked_at: datetime | None = None


class StartIn(Schema):
    language: str
    name: str = ""
    email: str
    extension: str = ""
    page_url: str = ""
    time_zone: str = ""      # the browser's IANA zone, e.g. "Europe/Stockholm"
    entry_point: str = ""


class StartOut(Schema):
    conversation: uuid.UUID
    token: str
    websocket: str
    ticket: str
    expires_in: int


class OfflineIn(Schema):
    language: str
    name: str = ""
    email: str
    message: str
    extension: str = ""
    page_url: str = ""
    entry_point: str = ""
    request_id: str = ""


class OfflineOut(Schema):
    reference: str


class AvailabilityOut(Schema):
    mode: str
    reason: str
    region: str
    next_opening: datetime | None       # ISO-8601 UTC; the widget shows it in the visitor's zone
    checked_at: datetime                # the desk's clock, so "in the next days" does not trust the browser's
    demo_mode: bool = False             # the demo switch keeps chat open whatever the hours


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value else None


class AckOut(Schema):
    type: str
    client_id: str
    seq: int
    id: int
    at: datetime
    duplicate: bool
    attachments: list[dict]


def in_language(code: str):
    """Errors in the visitor's language (the widget's choice, or the conversation's), whatever the browser's."""
    try:
        return translation.override(normalise_language(code))
    except ValueError:
        return contextlib.nullcontext()


def in_conversation_language(conversation_id):
    return in_language(selectors.conversation_language(conversation_id=conversation_id))


def _ip(request) -> str | None:
    return request.META.get("REMOTE_ADDR")


def _contact_fields(payload) -> ErrorOut | None:
    try:
        validate_email(payload.email)
    except ValidationError:
        return ErrorOut(code="bad_email", detail=_("Please give a valid email address."))
    if len(payload.name) > 200 or len(payload.page_url) > 2000 or len(payload.entry_point) > 100:
        return ErrorOut(code="too_long", detail=_("A field is too long."))
    return None


@router.post("/chat/conversations", auth=None, response={201: StartOut, 400: ErrorOut, 409: UnavailableOut,
                                                          429: ErrorOut},
             summary="Start a chat: a conversation id and a visitor token for that conversation only")
def start_conversation(request, payload: StartIn):
    with in_language(payload.language):
        return _start_conversation(request=request, payload=payload)


def _start_conversation(request, payload: StartIn):
    error = _contact_fields(payload)
    if error:
        return Status(400, error)
    if not limits.conversation_start_allowed(_ip(request)):
        return Status(429, ErrorOut(code="rate_limited",
                                    detail=_("Too many chats from your address; try again later.")))
    try:
        conversation = services.start_conversation(
            language=payload.language, name=one_line(payload.name), email=payload.email.strip(),
            extension=payload.extension, page_url=payload.page_url, entry_point=payload.entry_point, ip=_ip(request),
            time_zone=payload.time_zone)
    except services.ChatUnavailable as refusal:
        extra = {**refusal.extra, "next_opening": _utc(refusal.extra.get("next_opening"))}
        return Status(409, UnavailableOut(code=refusal.code, detail=refusal.detail, checked_at=timezone.now(),
                                          **extra))
    except (services.ChatError, PolicyError) as refusal:
        return Status(400, ErrorOut(code=getattr(refusal, "code", "policy"), detail=str(refusal)))
    return Status(201, StartOut(conversation=conversation.pk, token=visitor_token(conversation.pk),
                                websocket=f"/ws/chat/{conversation.pk}/", ticket=conversation.ticket.reference,
                                expires_in=settings.CHAT_TOKEN_MAX_AGE_SECONDS))


@router.post("/chat/offline", auth=None, response={201: OfflineOut, 400: ErrorOut, 429: ErrorOut},
             summary="The offline and email forms: an email ticket answered by email")
def leave_offline_message(request, payload: OfflineIn):
    with in_language(payload.language):
        return _leave_offline_message(request=request, payload=payload)


def _leave_offline_message(request, payload: OfflineIn):
    error = _contact_fields(payload)
    if error:
        return Status(400, error)
    if not payload.message.strip() or len(payload.message) > settings.FEEDBACK_MAX_MESSAGE_CHARS:
        limit = settings.FEEDBACK_MAX_MESSAGE_CHARS
        return Status(400, ErrorOut(code="bad_message", detail=_(
            "Please write your question (at most %(limit)d characters).") % {"limit": limit}))
    if len(payload.request_id) > 64:
        return Status(400, ErrorOut(code="too_long", detail=_("A field is too long.")))
    if not limits.conversation_start_allowed(_ip(request)):
        return Status(429, ErrorOut(code="rate_limited",
                                    detail=_("Too many requests from your address; try again later.")))
    try:
        ticket = services.leave_offline_message(
            language=payload.language, name=one_line(payload.name), email=payload.email.strip(),
            message=payload.message.strip(), extension=payload.extension, page_url=payload.page_url,
            entry_point=payload.entry_point, request_id=payload.request_id)
    except (ValueError, PolicyError) as refusal:
        return Status(400, ErrorOut(code="bad_request", detail=str(refusal)))
    return Status(201, OfflineOut(reference=ticket.reference))


@router.get("/chat/availability", auth=None, response={200: AvailabilityOut, 400: ErrorOut},
            summary="What the widget offers now: chat, the offline form, or the email form")
def chat_availability(request, language: str, entry_point: str = ""):
    with in_language(language):
        return _chat_availability(request=request, language=language, entry_point=entry_point)


def _chat_availability(request, language: str, entry_point: str = ""):
    now = timezone.now()
    try:
        answer = services.chat_availability(language=language, entry_point=entry_point, at=now)
    except (ValueError, PolicyError) as error:
        return Status(400, ErrorOut(code="bad_request", detail=str(error)))
    return Status(200, {**answer, "next_opening": _utc(answer["next_opening"]), "checked_at": now,
                        "demo_mode": demo_mode_on()})


class ExtensionOut(Schema):
    slug: str
    name: str


class WidgetLimitsOut(Schema):
    message_chars: int
    attachment_bytes: int
    attachment_types: list[str]


class WidgetConfigOut(Schema):
    languages: list[str]
    chat_languages: list[str]
    extensions: list[ExtensionOut]
    limits: WidgetLimitsOut


@router.get("/chat/config", auth=None, response=WidgetConfigOut,
            summary="Languages, extensions and limits the widget shows")
def widget_config(request):
    rule = ChannelRule.objects.filter(channel=Channel.CHAT).first()
    return {
        "languages": list(Language.values), "chat_languages": list(rule.languages) if rule else [],
        "extensions": [{"slug": e.slug, "name": e.name} for e in Extension.objects.order_by("name")],
        "limits": {"message_chars": settings.CHAT_MAX_MESSAGE_CHARS,
                   "attachment_bytes": settings.CHAT_MAX_ATTACHMENT_BYTES,
                   "attachment_types": settings.CHAT_ATTACHMENT_TYPES},
    }


def _token_error(request, conversation_id, token: str = "") -> Status | None:
    try:
        check_visitor_token(request.headers.get("X-Chat-Token") or token, conversation_id)
    except TokenError as error:
        status = 403 if isinstance(error, TokenForAnotherConversation) else 401
        return Status(status, ErrorOut(code=error.code, detail=_("This chat link is not valid for this conversation.")))
    return None


class RatingIn(Schema):
    rating: str          # "good" or "bad"
    comment: str = ""


class RatingOut(Schema):
    rating: str


@router.post("/chat/conversations/{conversation_id}/rating", auth=None,
             response={200: RatingOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 409: ErrorOut},
             summary="Rate an ended chat, good or bad, with an optional comment (visitor token in X-Chat-Token)")
def rate_conversation(request, conversation_id: uuid.UUID, payload: RatingIn):
    with in_conversation_language(conversation_id):
        return _rate_conversation(request=request, conversation_id=conversation_id, payload=payload)


def _rate_conversation(request, conversation_id: uuid.UUID, payload: RatingIn):
    refused = _token_error(request, conversation_id)
    if refused:
        return refused
    try:
        conversation = services.rate_conversation(conversation_id=conversation_id, rating=payload.rating,
                                                  comment=payload.comment)
    except services.ChatError as error:
        return Status(409 if error.code == "not_ended" else 400, ErrorOut(code=error.code, detail=error.detail))
    return RatingOut(rating=conversation.rating)


@router.post("/chat/conversations/{conversation_id}/attachments", auth=None,
             response={201: AckOut, 400: ErrorOut, 401: ErrorOut, 403: ErrorOut, 409: ErrorOut, 413: ErrorOut,
                       415: ErrorOut},
             summary="Attach a file to the chat (visitor token in X-Chat-Token)")
def upload_attachment(request, conversation_id: uuid.UUID, client_id: Form[str], file: File[UploadedFile]):
    with in_conversation_language(conversation_id):
        return _upload_attachment(request=request, conversation_id=conversation_id, client_id=client_id, file=file)


def _upload_attachment(request, conversation_id: uuid.UUID, client_id: Form[str], file: File[UploadedFile]):
    refused = _token_error(request, conversation_id)
    if refused:
        return refused
    item = services.received_upload(file, sender=Entry.Sender.VISITOR, client_id=client_id,
                                    conversation_id=conversation_id)
    if isinstance(item, services.Refused):
        return Status(services.UPLOAD_REFUSAL_STATUS[item.code], ErrorOut(code=item.code, detail=item.detail))
    if limits.ip_message_wait(_ip(request)):
        return Status(409, ErrorOut(code="rate_limited", detail=_("You are sending messages too fast.")))
    result = services.send_file(item)
    if isinstance(result, services.Refused):
        return Status(409, ErrorOut(code=result.code, detail=result.detail))
    return Status(201, {**events.ack_frame(result), "attachments": list(result.attachments)})


@router.get("/chat/conversations/{conversation_id}/attachments/{attachment_id}", auth=None,
            response={401: ErrorOut, 403: ErrorOut, 404: ErrorOut}, summary="Download a chat attachment",
            openapi_extra=DOWNLOAD_OPENAPI)
def download_attachment(request, conversation_id: uuid.UUID, attachment_id: int, token: str = ""):
    refused = _token_error(request, conversation_id, token)
    if refused:
        return refused
    attachment = selectors.attachment(conversation_id=conversation_id, attachment_id=attachment_id)
    if attachment is None:
        return Status(404, ErrorOut(code="not_found", detail=_("No such file in this chat.")))
    return download_response(attachment)
