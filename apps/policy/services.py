"""Policy answers: a region's calendar, a ticket's region, whether a channel is open.

Rows in ``apps.policy.models`` become frozen specs; ``businesstime.calendar_for``
caches one calendar per spec, so editing a calendar (a new spec) invalidates it.
"""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings
from django.db import transaction
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
    OpeningPeriod,
    Region,
    ServiceWindow,
    Weekday,
)
from apps.policy.signals import hours_changed
from supportdesk.readonce import configuration_changed, once


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


# --- the manager's edits (console settings): validated here, then every cached answer forgotten ---


@dataclass(frozen=True)
class PeriodInput:
    """One weekly opening period as the manager enters it; ``end`` 00:00 is midnight at the end of the day."""

    weekday: int
    start: time
    end: time


def _clock(value: time) -> str:
    return f"{value:%H:%M}"


def _weekday_name(weekday: int) -> str:
    return str(Weekday(weekday).label)


def _day_minutes(start: time, end: time) -> tuple[int, int]:
    """Minutes of a same-day period; an end of 00:00 is midnight at the end of the day."""
    finish = _minutes(end) or 1440
    return _minutes(start), finish


def check_periods(periods: list[PeriodInput]) -> None:
    """Refuse a period whose end is not after its start, and two periods of one day that overlap.

    The messages name the day and the times, in the manager's language.
    """
    by_day: dict[int, list[tuple[int, int, PeriodInput]]] = defaultdict(list)
    for period in periods:
        if period.weekday not in Weekday.values:
            raise PolicyError(_("Unknown weekday %(weekday)s.") % {"weekday": period.weekday})
        begin, finish = _day_minutes(period.start, period.end)
        if finish <= begin:
            raise PolicyError(_("%(day)s: the closing time %(end)s is not after the opening time %(start)s.") % {
                "day": _weekday_name(period.weekday), "start": _clock(period.start), "end": _clock(period.end)})
        by_day[period.weekday].append((begin, finish, period))
    for weekday, spans in by_day.items():
        spans.sort(key=lambda span: (span[0], span[1]))
        for (_begin, a_end, first), (b_begin, _finish, second) in zip(spans, spans[1:], strict=False):
            if b_begin < a_end:
                raise PolicyError(_("%(day)s: %(first)s and %(second)s overlap.") % {
                    "day": _weekday_name(weekday),
                    "first": f"{_clock(first.start)}–{_clock(first.end)}",
                    "second": f"{_clock(second.start)}–{_clock(second.end)}"})


def _policy_changed(*, region_id: int | None) -> None:
    """Forget every remembered calendar and rule (in this process at once, in the others within a second)
    and let the SLA app move the running deadlines the edit affects."""
    configuration_changed()
    hours_changed.send(sender=Region, region_id=region_id)


@transaction.atomic
def set_opening_periods(*, region: Region, periods: list[PeriodInput]) -> list[OpeningPeriod]:
    """Replace a region's weekly business hours; the next question about the region is answered by them."""
    check_periods(periods)
    Region.objects.select_for_update().filter(pk=region.pk).first()     # two editors save one after the other
    region.periods.all().delete()
    created = OpeningPeriod.objects.bulk_create(
        OpeningPeriod(region=region, weekday=p.weekday, start=p.start, end=p.end)
        for p in sorted(periods, key=lambda p: (p.weekday, p.start)))
    _policy_changed(region_id=region.pk)
    return created


def _check_zone(name: str) -> None:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise PolicyError(_("Unknown time zone %(zone)s.") % {"zone": name}) from None


@transaction.atomic
def update_service_window(*, window: ServiceWindow, open_weekday: int, open_time: time, open_tz: str,
                          close_weekday: int, close_time: time, close_tz: str) -> ServiceWindow:
    """Change when the desk-wide window (chat and email) opens and closes each week."""
    _check_zone(open_tz)
    _check_zone(close_tz)
    if (open_weekday, open_time, open_tz) == (close_weekday, close_time, close_tz):
        raise PolicyError(_("The window closes when it opens: choose another closing day or time."))
    window.open_weekday, window.open_time, window.open_tz = open_weekday, open_time, open_tz
    window.close_weekday, window.close_time, window.close_tz = close_weekday, close_time, close_tz
    try:
        calendar_for(window_spec(window))
    except CalendarError as error:
        raise PolicyError(str(error)) from error
    window.save()
    _policy_changed(region_id=None)
    return window


def _check_override(*, region: Region, day: date, kind: str, start: time | None, end: time | None,
                    exclude_pk: int | None) -> None:
    if kind not in DateOverride.Kind.values:
        raise PolicyError(_("Unknown kind of date %(kind)s.") % {"kind": kind})
    others = region.overrides.filter(date=day).exclude(pk=exclude_pk)
    if kind == DateOverride.Kind.SPECIAL_HOURS:
        if start is None or end is None:
            raise PolicyError(_("Special hours need an opening and a closing time."))
        begin, finish = _day_minutes(start, end)
        if finish <= begin:
            raise PolicyError(_("The closing time %(end)s is not after the opening time %(start)s.") % {
                "start": _clock(start), "end": _clock(end)})
        for other in others:
            if other.kind != DateOverride.Kind.SPECIAL_HOURS:
                raise PolicyError(_("%(date)s already has an entry (%(kind)s): change that one instead.") % {
                    "date": day.isoformat(), "kind": other.get_kind_display()})
            other_begin, other_finish = _day_minutes(other.start, other.end)
            if begin < other_finish and other_begin < finish:
                raise PolicyError(_("%(date)s: %(first)s and %(second)s overlap.") % {
                    "date": day.isoformat(), "first": f"{_clock(start)}–{_clock(end)}",
                    "second": f"{_clock(other.start)}–{_clock(other.end)}"})
        return
    if start is not None or end is not None:
        raise PolicyError(_("Only special hours have times."))
    other = others.first()
    if other is not None:
        raise PolicyError(_("%(date)s already has an entry (%(kind)s): change that one instead.") % {
            "date": day.isoformat(), "kind": other.get_kind_display()})


@transaction.atomic
def save_date_override(*, region: Region, day: date, kind: str, start: time | None = None,
                       end: time | None = None, note: str = "",
                       override: DateOverride | None = None) -> DateOverride:
    """Add a date (``override`` None) or change one: a closed day, special hours or a holiday kept open."""
    if override is not None and override.region_id != region.pk:
        raise PolicyError(_("This date belongs to another region."))
    _check_override(region=region, day=day, kind=kind, start=start, end=end,
                    exclude_pk=override.pk if override else None)
    override = override or DateOverride(region=region)
    override.region, override.date, override.kind = region, day, kind
    override.start, override.end, override.note = start, end, note.strip()
    override.save()
    _policy_changed(region_id=region.pk)
    return override


@transaction.atomic
def delete_date_override(*, override: DateOverride) -> None:
    region_id = override.region_id
    override.delete()
    _policy_changed(region_id=region_id)
