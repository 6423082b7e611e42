"""REST endpoints for tickets: translate HTTP to selectors, nothing more.

The selectors apply the ticket access rule for the token's user (``request.auth``): a
ticket outside it answers 404, as in the console.
"""

from datetime import UTC, datetime

from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate
from pydantic import field_validator

from apps.policy.languages import Channel, Language
from apps.tickets import selectors
from apps.tickets.files import DOWNLOAD_OPENAPI, download_response
from apps.tickets.models import Ticket
from supportdesk.pagination import PageNumberPagination

router = Router(tags=["tickets"])


class AttachmentOut(Schema):
    id: int
    filename: str
    content_type: str
    size: int
    sha256: str


class MessageOut(Schema):
    direction: str
    external_id: str
    body_text: str
    automatic: bool
    created_at: datetime
    attachments: list[AttachmentOut]


class ContactOut(Schema):
    name: str
    email: str
    phone: str
    language: str


class SlaTargetOut(Schema):
    kind: str
    due_at: datetime | None
    met_at: datetime | None
    breached: bool
    not_applicable_at: datetime | None = Field(
        None, description="When the target was set aside and left out of compliance (a caller who left the "
                          "queue for voicemail within the answer time); past its due time it is not breached")


class TicketSummaryOut(Schema):
    reference: str
    channel: str
    language: str
    region: str | None = Field(None, alias="region.slug")
    status: str
    scope: str
    category: str
    extension: str | None = Field(None, alias="extension.slug")
    subject: str
    received_at: datetime
    merged_into: str | None = Field(None, alias="merged_into.reference",
                                    description="Merged (and closed): the reference of the ticket it went into")


class TicketOut(TicketSummaryOut):
    contact: ContactOut
    messages: list[MessageOut]
    sla_targets: list[SlaTargetOut]
    jira_key: str | None

    @staticmethod
    def resolve_messages(ticket: Ticket):
        return list(ticket.messages.all())

    @staticmethod
    def resolve_sla_targets(ticket: Ticket):
        return list(ticket.sla_targets.all())

    @staticmethod
    def resolve_jira_key(ticket: Ticket):
        return selectors.jira_key_of(ticket)


SLUG = r"^[-a-zA-Z0-9_]+$"


def _in_utc(value: datetime | None) -> datetime | None:
    """The time in UTC (without an offset, it is UTC), as the database compares it.

    ISO-8601 allows offsets up to ±23:59, PostgreSQL ±15:59; and near year 1 or 9999 an
    offset moves the time off the calendar. Either reached the database as a 500.
    """
    if value is None:
        return None
    try:
        return value.replace(tzinfo=value.tzinfo or UTC).astimezone(UTC)
    except OverflowError:
        raise ValueError(_("The time is out of range once converted to UTC.")) from None


class TicketFilter(Schema):
    q: str = Field("", max_length=200, description="Words to find in the subject and messages: ranked, then newest")
    channel: Channel | None = None
    language: Language | None = None
    status: Ticket.Status | None = None
    region: str | None = Field(None, pattern=SLUG, max_length=50)
    extension: str | None = Field(None, pattern=SLUG, max_length=50)
    owner: str | None = Field(None, pattern=SLUG, max_length=50, description="The extension owner's slug")
    since: datetime | None = None
    until: datetime | None = Field(None, description="Received before this time")
    breached: bool | None = Field(None, description="Whether an SLA target was breached")

    @field_validator("since", "until")
    @classmethod
    def in_utc(cls, value: datetime | None) -> datetime | None:
        return _in_utc(value)

    @field_validator("q")
    @classmethod
    def printable(cls, value: str) -> str:
        if "\x00" in value:
            raise ValueError(_("The search may not contain a NUL character."))
        return value.strip()


@router.get("/tickets/{reference}", response=TicketOut, summary="One ticket with its thread")
def get_ticket(request, reference: str):
    ticket = selectors.ticket_by_reference(reference, user=request.auth)
    if ticket is None:
        raise Http404(f"no ticket {reference}")
    return ticket


@router.get("/tickets/{reference}/attachments/{attachment_id}", summary="Download one of the ticket's files",
            openapi_extra=DOWNLOAD_OPENAPI)
def download_attachment(request, reference: str, attachment_id: int):
    attachment = selectors.attachment(reference=reference, attachment_id=attachment_id, user=request.auth)
    if attachment is None:
        raise Http404(f"no file {attachment_id} on {reference}")
    return download_response(attachment)


@router.get("/tickets", response=list[TicketSummaryOut], summary="Tickets, filtered and paginated")
@paginate(PageNumberPagination, page_size=50)
def list_tickets(request, filters: Query[TicketFilter]):
    return selectors.ticket_list(user=request.auth, channel=filters.channel or "", language=filters.language or "",
                                 status=filters.status or "", since=filters.since, until=filters.until,
                                 region=filters.region or "", extension=filters.extension or "",
                                 owner=filters.owner or "", breached=filters.breached, q=filters.q)
