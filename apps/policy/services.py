"""Policy answers: a region's calendar, a ticket's region, whether a channel is open.

Rows in ``apps.policy.models`` become frozen specs; ``businesstime.calendar_for``
caches one calendar per spec, so editing a calendar (a new spec) invalidates it.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, time

from django.conf import settings
from django.utils.translation import gettext as _

from apps.policy.businesstime import (
    BusinessCalendar,
    CalendarError,
    HolidaySource,
    Period,
    RegionalSpec,
    WeekSpanSpec,
    calendar_for,
)
from apps.policy.languages import Channel, normalise_language
from apps.policy.models import (
    ChannelRule,
    DateOverride,
    DemoMode,
    EntryPoint,
    LanguageRegion,
    Region,
    ServiceWindow,
)
from supportdesk.readonce import once


class PolicyError(ValueError):
    """A question the policy cannot answer (unknown region, channel, naive time)."""


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def span_minutes(start: time, end: time) -> tuple[int, int]:
    """Local minutes of a period; an end at or before the start runs past midnight."""
    begin, finish = _minutes(start), _minutes(end)
    return begin, finish if finish > begin else finish + 1440


def region_spec(region: Region) -> RegionalSpec:
    periods = tuple(Period(p.weekday, *span_minutes(p.start, p.end)) for p in region.periods.all())
    closures, reopened, special = set(), set(), defaultdict(list)
    for override in region.overrides.all():
        if override.kind == DateOverride.Kind.CLOSED:
            closures.add(override.date)
        elif override.kind == DateOverride.Kind.REOPEN_HOLIDAY:
            reopened.add(override.date)
        else:
            special[override.date].append(span_minutes(override.start, override.end))
    holidays = None
    if region.holiday_country:
        holidays = HolidaySource(region.holiday_country, region.holiday_subdivision or None,
                                 tuple(region.holiday_categories or ["public"]))
    return RegionalSpec(
        tz_name=region.tz_name, periods=periods, holidays=holidays,
        added_closures=frozenset(closures), removed_holidays=frozenset(reopened),
        special_hours=tuple(sorted((day, tuple(sorted(spans))) for day, spans in special.items())),
    )


def region_calendar(region: Region) -> BusinessCalendar:
    return once(("region-calendar", region.pk), lambda: calendar_for(region_spec(region)))


def window_spec(window: ServiceWindow) -> WeekSpanSpec:
    return WeekSpanSpec(
        open_weekday=window.open_weekday, open_minute=_minutes(window.open_time), open_tz=window.open_tz,
        close_weekday=window.close_weekday, close_minute=_minutes(window.close_time),
        close_tz=window.close_tz,
    )


def get_region(slug: str) -> Region:
    region = Region.objects.filter(slug=slug).first()
    if region is None:
        known = ", ".join(Region.objects.values_list("slug", flat=True))
        raise PolicyError(_("Unknown region %(region)s (known: %(known)s).") % {"region": slug, "known": known})
    return region


def channel_rule(channel: str) -> ChannelRule:
    if channel not in Channel.values:
        raise PolicyError(_("Unknown channel %(channel)s.") % {"channel": channel})
    rule = once(("channel-rule", channel),
                lambda: ChannelRule.objects.select_related("window").filter(channel=channel).first())
    if rule is None:
        raise PolicyError(_("No rule is configured for the %(channel)s channel.") % {"channel": channel})
    return rule


def channel_calendar(*, channel: str, region: Region) -> BusinessCalendar:
    """The calendar a channel keeps in a region: regional hours, or the desk-wide window."""
    rule = channel_rule(channel)
    if rule.hours == ChannelRule.Hours.WINDOW:
        return calendar_for(window_spec(rule.window))
    return region_calendar(region)


def region_for(*, entry_point: str = "", contact=None, language: str = "") -> Region | None:
    """The entry point's region, else the contact's, else the language's default."""
    if entry_point:
        point = once(("entry-point", entry_point.lower()), lambda: EntryPoint.objects.select_related("region").filter(
            address__iexact=entry_point).first())
        if point:
            return point.region
    if contact is not None and contact.region_id:
        return contact.region
    if language:
        default = once(("language-region", language), lambda: LanguageRegion.objects.select_related("region").filter(
            language=language).first())
        if default:
            return default.region
    return None


def mailbox_for(*, region_id: int | None, language: str = "") -> str:
    """The region's desk mailbox (the one for ``language`` if it has several), else
    ``DEFAULT_FROM_EMAIL``: where mail about a ticket that did not start by mail (a chat)
    comes from, so that the user's answer reaches the desk."""
    mailboxes = list(EntryPoint.objects.filter(kind=EntryPoint.Kind.MAILBOX, region_id=region_id)
                     .order_by("pk").values_list("address", "default_language")) if region_id else []
    for address, mailbox_language in mailboxes:
        if mailbox_language == language:
            return address
    return mailboxes[0][0] if mailboxes else settings.DEFAULT_FROM_EMAIL


# The channels a visitor tries live; email and feedback are taken at any hour anyway.
DEMO_CHANNELS = (Channel.CHAT, Channel.VOICE)


def demo_mode_on() -> bool:
    """Whether the demo switch keeps chat and phone open whatever the hours (no row: off)."""
    return once(("demo-mode",), lambda: DemoMode.objects.filter(
        pk=DemoMode.SINGLETON, always_open=True).exists())


def set_demo_mode(*, on: bool) -> DemoMode:
    switch, _created = DemoMode.objects.update_or_create(pk=DemoMode.SINGLETON, defaults={"always_open": on})
    return switch


@dataclass(frozen=True)
class Availability:
    open: bool
    next_opening: datetime | None
    reason: str
    demo: bool = False      # open only because of the demo switch


def availability(*, channel: str, language: str, region: Region, at: datetime) -> Availability:
    """Can this channel serve this language now, in this region? If not, when next?

    The widget, the IVR and the API all ask this one function. With the demo switch on,
    chat and phone are open at any hour for the languages they serve; SLA clocks never ask this
    function (they add business time on the calendars themselves), so they still count
    the real hours.
    """
    if at.tzinfo is None:
        raise PolicyError(_("A time zone is required (naive datetime)."))
    rule = channel_rule(channel)
    try:
        language = normalise_language(language)
    except ValueError as error:
        raise PolicyError(_("Unsupported language %(language)s.") % {"language": language}) from error
    if language not in rule.languages:
        return Availability(open=False, next_opening=None, reason="language_not_served")
    if channel in DEMO_CHANNELS and demo_mode_on():
        return Availability(open=True, next_opening=None, reason="open", demo=True)
    calendar = channel_calendar(channel=channel, region=region)
    try:
        if calendar.is_open(at):
            return Availability(open=True, next_opening=None, reason="open")
        return Availability(open=False, next_opening=calendar.next_opening(at), reason="closed")
    except CalendarError as error:
        raise PolicyError(str(error)) from error
