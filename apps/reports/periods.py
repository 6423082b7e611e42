"""The dashboard's periods: today, this week, this quarter or chosen days, in the viewer's time zone.

A manager in Stockholm asking for "today" means Stockholm's day, so every bound is a local
midnight turned into an aware instant (the database keeps UTC).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from urllib.parse import urlencode

from apps.reports.quarters import Quarter

TODAY, WEEK, QUARTER, CUSTOM = "today", "week", "quarter", "custom"
PRESETS = (TODAY, WEEK, QUARTER)
DAILY_UP_TO_DAYS = 31       # longer periods are charted per week


@dataclass(frozen=True)
class Period:
    preset: str
    first_day: date
    last_day: date          # inclusive
    zone: tzinfo

    @property
    def start(self) -> datetime:
        return local_midnight(self.first_day, self.zone)

    @property
    def end(self) -> datetime:
        """The first instant after the period."""
        return local_midnight(self.last_day + timedelta(days=1), self.zone)

    @property
    def query(self) -> str:
        """The period as the page's query string (links keep it: the CSV of what is shown)."""
        if self.preset == CUSTOM:
            return urlencode({"from": self.first_day.isoformat(), "to": self.last_day.isoformat()})
        return urlencode({"period": self.preset})

    @property
    def weekly(self) -> bool:
        return (self.last_day - self.first_day).days >= DAILY_UP_TO_DAYS

    def buckets(self, *, today: date) -> list[date]:
        """First days of the trend's days (or Monday-weeks), up to ``today``'s."""
        step = timedelta(weeks=1) if self.weekly else timedelta(days=1)
        day = self.first_day - timedelta(days=self.first_day.weekday()) if self.weekly else self.first_day
        last = min(self.last_day, today)
        days = []
        while day <= last:
            days.append(day)
            day += step
        return days

    def bucket_of(self, day: date) -> date:
        return day - timedelta(days=day.weekday()) if self.weekly else day


def local_midnight(day: date, zone: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)


def period_for(params, *, today: date, zone: tzinfo) -> Period:
    """``?period=today|week|quarter``, or ``?from=&to=`` (ISO dates; a bad one falls back); default this quarter."""
    preset = params.get("period", "")
    if preset == TODAY:
        return Period(TODAY, today, today, zone)
    if preset == WEEK:
        monday = today - timedelta(days=today.weekday())
        return Period(WEEK, monday, monday + timedelta(days=6), zone)
    quarter = Quarter.containing(today)
    this_quarter = Period(QUARTER, quarter.first_day, quarter.next.first_day - timedelta(days=1), zone)
    if preset == QUARTER or not (params.get("from") or params.get("to")):
        return this_quarter
    first, last = _day(params.get("from"), this_quarter.first_day), _day(params.get("to"), today)
    return Period(CUSTOM, first, max(first, last), zone)


def _day(text: str | None, default: date) -> date:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return default
