"""Public policy questions over HTTP: SLA deadlines and channel availability."""

from datetime import UTC, datetime

from django.utils import timezone
from ninja import Router, Schema
from ninja.errors import HttpError

from apps.policy.languages import normalise_language
from apps.policy.services import PolicyError, availability, get_region
from apps.routing.services import live_agents_online
from apps.sla.services import preview
from apps.tickets import channels

router = Router(tags=["policy"])


class PreviewOut(Schema):
    acknowledge_due: datetime
    response_due: datetime


class ChannelAvailabilityOut(Schema):
    channel: str
    language: str
    region: str
    open: bool
    reason: str
    next_opening: datetime | None
    agents_online: int | None = None
    demo_mode: bool = False     # open whatever the hours: the demo switch is on
    checked_at: datetime


def _utc(value: datetime | None) -> datetime | None:
    return value.astimezone(UTC) if value else None


@router.get("/sla/preview", response=PreviewOut, auth=None,
            summary="SLA deadlines for a ticket received at a time, in ISO-8601 UTC")
def sla_preview(request, region: str, channel: str, received: datetime):
    try:
        due = preview(region=get_region(region), channel=channel, received=received)
    except PolicyError as error:
        raise HttpError(400, str(error)) from error
    return {key: _utc(value) for key, value in due.items()}


@router.get("/availability", response=ChannelAvailabilityOut, auth=None,
            summary="Is a channel open for a language in a region now, and when does it next open?")
def channel_availability(request, channel: str, language: str, region: str):
    now = timezone.now()
    try:
        answer = availability(channel=channel, language=language, region=get_region(region), at=now)
    except PolicyError as error:
        raise HttpError(400, str(error)) from error
    agents = None
    if channels.spec(channel).live and answer.open:
        # Live channels need a person now: with nobody online the widget/IVR offer an alternative.
        agents = live_agents_online(language=normalise_language(language), channel=channel, now=now)
    return {"channel": channel, "language": language, "region": region, "open": answer.open,
            "reason": answer.reason, "next_opening": _utc(answer.next_opening), "agents_online": agents,
            "demo_mode": answer.demo, "checked_at": now}
