"""Writes of the feedback app: issue and revoke installation keys, file a report as a ticket."""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.desk.actions import open_ticket
from apps.feedback.forms import CORE_PRODUCT
from apps.feedback.models import ApiKey, FeedbackReport, hash_key
from apps.owners.models import Extension
from apps.policy.languages import Channel
from apps.policy.services import region_for
from apps.tickets.models import Ticket
from apps.tickets.selectors import surviving
from apps.tickets.services import add_attachment, find_or_create_contact

SUBJECT_CHARS = 120


@dataclass(frozen=True)
class ReportAttachment:
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Report:
    user_email: str
    language: str
    product: str
    app_version: str
    message: str
    report_id: str = ""
    os: str = ""
    device: str = ""
    attachments: tuple[ReportAttachment, ...] = field(default_factory=tuple)


def issue_api_key(*, name: str, region=None) -> tuple[ApiKey, str]:
    """A new installation key; the raw key is returned once and never stored."""
    raw = ApiKey.new_raw_key()
    key = ApiKey.objects.create(name=name, key_hash=hash_key(raw), prefix=raw[:12], region=region)
    return key, raw


def revoke_api_key(*, key: ApiKey) -> None:
    ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def authenticate_key(raw: str) -> ApiKey | None:
    """The active key for this raw value; notes its use at most once a minute."""
    if not raw:
        return None
    key = ApiKey.objects.filter(key_hash=hash_key(raw), revoked_at__isnull=True).first()
    if key is not None:
        now = timezone.now()
        if key.last_used_at is None or key.last_used_at < now - timedelta(minutes=1):
            ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    return key


def _subject(message: str) -> str:
    first_line = next((line.strip() for line in message.splitlines() if line.strip()), "")
    if len(first_line) > SUBJECT_CHARS:
        first_line = first_line[: SUBJECT_CHARS - 1].rstrip() + "…"
    return first_line or _("Feedback report")


@transaction.atomic
def submit_report(*, api_key: ApiKey, report: Report) -> Ticket:
    """Open a feedback ticket (8 h response target) with the report's attachments.

    A repeated ``report_id`` from the same installation returns the first ticket, or the one it was merged into.
    """
    extension = None
    if report.product and report.product != CORE_PRODUCT:
        extension = Extension.objects.filter(slug=report.product).first()
    contact = find_or_create_contact(email=report.user_email, language=report.language)
    region = api_key.region or region_for(contact=contact, language=report.language)
    ticket = open_ticket(
        channel=Channel.FEEDBACK, contact=contact, subject=_subject(report.message), body=report.message,
        external_ref=f"{api_key.pk}:{report.report_id}" if report.report_id else "",
        language=report.language, region=region, extension=extension,
    )   # opened by the person who sent it, as on every channel (the installation is on the report)
    created = not FeedbackReport.objects.filter(ticket=ticket).exists()
    if created:
        FeedbackReport.objects.create(
            ticket=ticket, api_key=api_key, report_id=report.report_id, user_email=report.user_email,
            language=report.language, product=report.product or CORE_PRODUCT, app_version=report.app_version,
            os=report.os, device=report.device)
        message = ticket.messages.order_by("pk").first()
        if message is not None:
            for attachment in report.attachments:
                add_attachment(message=message, filename=attachment.filename,
                               content_type=attachment.content_type, data=attachment.data)
    return surviving(ticket)
