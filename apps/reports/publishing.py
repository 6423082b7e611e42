"""Publishing owners' quarterly reports: files in the owner portal, a mail to the owner's admins.

The schedule publishes the quarter just ended on the first working day after it (the Europe
region's calendar: weekends and Swedish holidays are not working days); the command does it on
demand. Publishing a quarter again replaces its files; the admins are mailed once per quarter.
"""

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from apps.outbox.email import send_email_later
from apps.owners.models import ExtensionOwner, QuarterlyReport
from apps.policy.models import Region
from apps.policy.services import region_calendar
from apps.reports import owner_report, rendering
from apps.reports.quarters import Quarter

log = logging.getLogger(__name__)
CALENDAR_REGION = "europe"


@dataclass(frozen=True)
class Published:
    owner: str
    quarter: str
    tickets: int
    files: list[Path]
    warning: str = ""


def publish(quarter: Quarter, *, owners: Iterable[ExtensionOwner], out: Path | None = None,
            mail: bool = True, pdf: bool = True) -> list[Published]:
    return [publish_one(owner, quarter, out=out, mail=mail, pdf=pdf) for owner in owners]


def publish_one(owner: ExtensionOwner, quarter: Quarter, *, out: Path | None = None, mail: bool = True,
                pdf: bool = True) -> Published:
    report = owner_report.build(owner, quarter)
    rendered = rendering.render(report, pdf=pdf)
    stem = f"{owner.slug}-{quarter}"
    files = {"html": rendered.html.encode(), "csv": rendered.csv.encode("utf-8-sig")}
    if rendered.pdf is not None:
        files["pdf"] = rendered.pdf
    written = []
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        for suffix, data in files.items():
            path = out / f"{stem}.{suffix}"
            path.write_bytes(data)
            written.append(path)
    with transaction.atomic():
        stored, created = QuarterlyReport.objects.select_for_update().get_or_create(
            owner=owner, quarter=str(quarter),
            defaults={"language": owner.language, "tickets": report.total, "published_at": timezone.now()})
        stored.language, stored.tickets, stored.published_at = owner.language, report.total, timezone.now()
        for suffix, data in files.items():
            getattr(stored, suffix).save(f"{stem}.{suffix}", ContentFile(data), save=False)
        stored.save()
        if mail and created:
            _tell_admins(owner, quarter)
    return Published(owner=owner.slug, quarter=str(quarter), tickets=report.total, files=written,
                     warning=rendered.warning)


def _tell_admins(owner: ExtensionOwner, quarter: Quarter) -> None:
    addresses = [admin.user.email for admin in owner.admins.select_related("user") if admin.user.email]
    if not addresses:
        log.warning("%s has no admin with an address: its %s report is only in the portal", owner.slug, quarter)
        return
    with translation.override(owner.language):
        subject = _("Your quarterly report %(quarter)s is ready") % {"quarter": quarter}
        body = _("Hello,\n\nthe quarterly report %(quarter)s of the support tickets about %(owner)s's extensions "
                 "is ready in your owner portal, as a web page, PDF and CSV:\n\n%(url)s\n") % {
            "quarter": quarter, "owner": owner.name, "url": f"{settings.PUBLIC_BASE_URL}/owners/reports/"}
    send_email_later(key=f"quarterly-report:{owner.slug}:{quarter}", subject=subject, body=body, to=addresses)


def first_working_moment_after(quarter: Quarter) -> datetime | None:
    """When the first working day after the quarter begins (Europe calendar), or None without that region."""
    region = Region.objects.filter(slug=CALENDAR_REGION).first()
    return region_calendar(region).next_opening(quarter.end) if region else None


def publish_due(now: datetime | None = None) -> list[Published]:
    """The schedule's job: once the first working day after a quarter has begun, publish that quarter once."""
    now = now or timezone.now()
    quarter = Quarter.containing(now.date()).previous
    due = first_working_moment_after(quarter)
    if due is None or now < due:
        return []
    waiting = ExtensionOwner.objects.exclude(reports__quarter=str(quarter))
    return publish(quarter, owners=list(waiting))
