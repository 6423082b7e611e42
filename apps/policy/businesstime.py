"""Business-time engine: SLA clocks that only run while a calendar is open.

Pure Python (no Django) so it can be unit-tested, benchmarked and reused in
batch jobs.  The Django layer turns its models into the frozen specs below and
asks :func:`calendar_for` for a cached :class:`BusinessCalendar`.

How it works
------------
A calendar is materialised, per year, into sorted, merged, half-open
``[start, end)`` intervals of integer UTC epoch seconds, plus prefix sums of
business seconds.  ``B(t)`` (business seconds from the table origin up to the
instant ``t``) and its inverse are then single ``bisect`` calls, so a deadline
or an elapsed time costs O(log n) however far apart the instants are.

Wall-clock rule (DST is resolved once, when a year is built)
-----------------------------------------------------------
Every boundary (opening or closing) takes effect at the *first instant at
which the local clock shows that wall time or later*:

* an ambiguous wall time (clocks going back) uses its first occurrence
  (``fold=0``), both for openings and for closings;
* a nonexistent wall time (clocks going forward) takes effect at the moment
  of the jump, e.g. 02:30 on a Stockholm spring-forward day is 03:00 CEST.

The rule is monotonic in wall time, so adjacent periods never overlap in UTC.

Other conventions
-----------------
* Inputs must be timezone-aware; outputs are aware UTC.  Microseconds are
  truncated: SLA maths works in whole seconds (no float drift).
* A deadline landing exactly on a closing time returns that closing time
  (businesstimedelta/Zammad semantics, not pandas' "next opening").
* A holiday / closure removes the periods *starting* on that local date; a
  period that began the previous evening and runs past midnight belongs to the
  day it started.  ``special_hours`` is the most specific statement about a
  date and wins over holidays, closures and re-opened holidays.
* Windows that overlap in UTC (a special-hours day after a night shift, DST
  folds) are merged, i.e. the calendar is the union of its windows.
* Tables cover local years 1900..2200; searches give up after 10 years.
"""

from __future__ import annotations

import functools
import threading
from bisect import bisect_left, bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "BusinessCalendar",
    "CalendarError",
    "HolidaySource",
    "Period",
    "RegionalSpec",
    "WeekSpanSpec",
    "calendar_for",
    "holiday_dates",
    "validate_periods",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
MINUTES_PER_DAY = 1440
MINUTES_PER_WEEK = 7 * MINUTES_PER_DAY
#: How many years past the query a search (deadline, next opening/closing) may
#: extend the table before giving up; guards against endless loops.
MAX_SEARCH_YEARS = 10
#: Years a table may span; a query outside is almost surely bad input, and a
#: contiguous table up to year 9999 would be slow to build.
MIN_YEAR, MAX_YEAR = 1900, 2200


class CalendarError(ValueError):
    """A calendar definition or a query that cannot be answered."""


# --------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class Period:
    """One weekly opening window in local wall time.

    ``start``/``end`` are minutes from local midnight of ``weekday``; ``end``
    may exceed 1440 (up to 2880) for windows running past midnight, and 1440
    means 24:00, so a day can be fully open without Zammad's 23:59 hack.
    """

    weekday: int
    start: int
    end: int


@dataclass(frozen=True)
class HolidaySource:
    """Which public holidays (from the ``holidays`` package) close the desk."""

    country: str
    subdiv: str | None = None
    categories: tuple[str, ...] = ("public",)


@dataclass(frozen=True)
class RegionalSpec:
    """A regional desk: weekly periods in one zone, minus holidays/closures."""

    tz_name: str
    periods: tuple[Period, ...]
    holidays: HolidaySource | None = None
    added_closures: frozenset[date] = frozenset()
    removed_holidays: frozenset[date] = frozenset()
    special_hours: tuple[tuple[date, tuple[tuple[int, int], ...]], ...] = ()


@dataclass(frozen=True)
class WeekSpanSpec:
    """One opening per week that may start and end in different zones.

    Models the 24x5 chat/email window: it opens at (open_weekday, open_minute)
    in ``open_tz`` and closes at the next (close_weekday, close_minute) in
    ``close_tz``.  Defaults: Mon 06:00 Kuala Lumpur -> Fri 20:00 New York.
    """

    open_weekday: int = 0
    open_minute: int = 6 * 60
    open_tz: str = "Asia/Kuala_Lumpur"
    close_weekday: int = 4
    close_minute: int = 20 * 60
    close_tz: str = "America/New_York"


Spec = RegionalSpec | WeekSpanSpec


# --------------------------------------------------------------------------- validation


def validate_periods(periods: Iterable[Period]) -> None:
    """Raise CalendarError on bad ranges or overlaps (also across midnight).

    Overlaps are checked on the weekly circle, so Sun 22:00-26:00 clashes with
    Mon 01:00-05:00.  Touching periods (end == next start) are fine.
    """
    segments: list[tuple[int, int, Period]] = []
    for p in periods:
        _check_period(p)
        lo, hi = p.weekday * MINUTES_PER_DAY + p.start, p.weekday * MINUTES_PER_DAY + p.end
        segments.append((lo, min(hi, MINUTES_PER_WEEK), p))
        if hi > MINUTES_PER_WEEK:  # Sunday night spilling into Monday
            segments.append((0, hi - MINUTES_PER_WEEK, p))
    _check_no_overlap(segments)


def _check_period(p: Period) -> None:
    """Reject a single period with impossible numbers."""
    if not isinstance(p, Period):
        raise CalendarError(f"not a Period: {p!r}")
    if not 0 <= p.weekday <= 6:
        raise CalendarError(f"weekday must be 0..6 (Mon..Sun), got {p.weekday}")
    _check_range(p.start, p.end, what=f"period {p}")


def _check_range(start: int, end: int, *, what: str) -> None:
    """Minutes from local midnight: 0 <= start < 1440, start < end <= 2880."""
    if not (isinstance(start, int) and isinstance(end, int)):
        raise CalendarError(f"{what}: minutes must be integers")
    if not 0 <= start < MINUTES_PER_DAY:
        raise CalendarError(f"{what}: start must be in 0..1439 minutes, got {start}")
    if not start < end <= 2 * MINUTES_PER_DAY:
        raise CalendarError(f"{what}: end must be > start and <= 2880 minutes, got {end}")


def _check_no_overlap(segments: list[tuple[int, int, object]]) -> None:
    """Sorted sweep; half-open segments may touch but not overlap."""
    segments.sort(key=lambda s: (s[0], s[1]))
    for (_a_lo, a_hi, a), (b_lo, _b_hi, b) in pairwise(segments):
        if b_lo < a_hi:
            raise CalendarError(f"overlapping periods: {a} and {b}")


def _validate_special_hours(special: tuple[tuple[date, tuple[tuple[int, int], ...]], ...]) -> None:
    """Each override date appears once and its ranges are valid and disjoint."""
    seen: set[date] = set()
    for day, ranges in special:
        if not isinstance(day, date) or isinstance(day, datetime):
            raise CalendarError(f"special_hours key must be a date, got {day!r}")
        if day in seen:
            raise CalendarError(f"special_hours lists {day} twice")
        seen.add(day)
        for start, end in ranges:
            _check_range(start, end, what=f"special hours on {day}")
        _check_no_overlap([(s, e, (day, s, e)) for s, e in ranges])


def _zone(name: str) -> ZoneInfo:
    """ZoneInfo with a CalendarError instead of the zoneinfo exception zoo."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise CalendarError(f"unknown time zone {name!r}") from exc


# --------------------------------------------------------------------------- holidays


@functools.lru_cache(maxsize=512)
def _holiday_dates_cached(source: HolidaySource, year: int) -> tuple[tuple[date, str], ...]:
    import holidays  # imported lazily: only calendars with holidays need it

    try:
        found = holidays.country_holidays(
            source.country, subdiv=source.subdiv, categories=source.categories, years=year
        )
    except (NotImplementedError, KeyError, ValueError) as exc:
        raise CalendarError(f"holidays unavailable for {source}: {exc}") from exc
    # Observed days of next year's holidays (US 2027-12-31) are listed under
    # the year they fall in; keep only this year's dates so years never clash.
    return tuple(sorted((d, n) for d, n in found.items() if d.year == year))


def holiday_dates(source: HolidaySource, year: int) -> dict[date, str]:
    """Holiday dates of one year with their display names (cached)."""
    return dict(_holiday_dates_cached(source, year))


# --------------------------------------------------------------------------- wall time -> UTC


def _wall_to_epoch(tz: ZoneInfo, day: date, minute: int) -> int:
    """First UTC second at which the local clock shows ``day + minute`` or later.

    Ambiguous times (clocks going back) resolve to their first occurrence;
    times inside a spring-forward gap resolve to the instant of the jump.
    """
    naive = datetime(day.year, day.month, day.day) + timedelta(minutes=minute)
    first = int(naive.replace(tzinfo=tz, fold=0).timestamp())
    second = int(naive.replace(tzinfo=tz, fold=1).timestamp())
    if first <= second:  # normal (equal) or ambiguous (fold=0 is the earlier)
        return first
    return _transition_between(tz, second, first)


def _transition_between(tz: ZoneInfo, lo: int, hi: int) -> int:
    """Smallest epoch second in (lo, hi] whose UTC offset differs from lo's.

    In a gap, zoneinfo's fold=1 reading (lo) lies before the jump and the
    fold=0 reading (hi) after it, so a binary search finds the jump.
    """
    before = datetime.fromtimestamp(lo, tz).utcoffset()
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, tz).utcoffset() == before:
            lo = mid
        else:
            hi = mid
    return hi


def _to_epoch(at: datetime) -> int:
    """Aware datetime -> whole epoch seconds (microseconds truncated)."""
    if at.__class__ is datetime and at.tzinfo is UTC:  # the common case, checked cheaply
        return (at - _EPOCH) // _SECOND
    if not isinstance(at, datetime):
        raise CalendarError(f"expected a datetime, got {type(at).__name__}")
    tz = at.tzinfo
    if tz is None or (tz is not UTC and at.utcoffset() is None):
        raise CalendarError(f"naive datetime {at.isoformat()}: business time needs a time zone")
    return (at - _EPOCH) // _SECOND


def _from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


# --------------------------------------------------------------------------- year builders

Interval = tuple[int, int]


class _RegionalYears:
    """Builds one local calendar year of a RegionalSpec into UTC intervals."""

    # A period may end at most 48 h after the local midnight of its start day;
    # 3 days leaves room for DST so the previous year never reaches past this.
    spill = 3 * 86400

    def __init__(self, spec: RegionalSpec) -> None:
        if not isinstance(spec.periods, tuple):
            raise CalendarError("periods must be a tuple of Period")
        validate_periods(spec.periods)
        _validate_special_hours(spec.special_hours)
        self.spec = spec
        self.tz = _zone(spec.tz_name)
        self.anchor = self.tz
        self.by_weekday: dict[int, list[tuple[int, int]]] = {wd: [] for wd in range(7)}
        for p in spec.periods:
            self.by_weekday[p.weekday].append((p.start, p.end))
        self.special = dict(spec.special_hours)
        if spec.holidays is not None:
            holiday_dates(spec.holidays, date.today().year)  # fail fast on a bad country

    def closed_days(self, year: int) -> set[date]:
        """Local dates whose regular periods are removed."""
        days: set[date] = set()
        if self.spec.holidays is not None:
            days.update(holiday_dates(self.spec.holidays, year))
        days -= self.spec.removed_holidays
        days.update(d for d in self.spec.added_closures if d.year == year)
        return days

    def ranges_for(self, day: date, closed: set[date]) -> list[tuple[int, int]]:
        """Wall-clock minute ranges that start on ``day``."""
        if day in self.special:
            return list(self.special[day])
        if day in closed:
            return []
        return self.by_weekday[day.weekday()]

    def __call__(self, year: int) -> list[Interval]:
        closed = self.closed_days(year)
        out: list[Interval] = []
        day, one = date(year, 1, 1), timedelta(days=1)
        while day.year == year:
            for start, end in self.ranges_for(day, closed):
                s, e = _wall_to_epoch(self.tz, day, start), _wall_to_epoch(self.tz, day, end)
                if s < e:  # a range wholly inside a DST gap is empty
                    out.append((s, e))
            day += one
        return out


class _WeekSpanYears:
    """Builds the weekly openings (counted by their local opening date)."""

    # An opening lasts at most 7 days plus the zones' offset difference.
    spill = 9 * 86400

    def __init__(self, spec: WeekSpanSpec) -> None:
        for wd in (spec.open_weekday, spec.close_weekday):
            if not (isinstance(wd, int) and 0 <= wd <= 6):
                raise CalendarError(f"weekday must be 0..6 (Mon..Sun), got {wd!r}")
        for minute in (spec.open_minute, spec.close_minute):
            if not (isinstance(minute, int) and 0 <= minute < MINUTES_PER_DAY):
                raise CalendarError(f"minute must be 0..1439, got {minute!r}")
        self.spec = spec
        self.open_tz, self.close_tz = _zone(spec.open_tz), _zone(spec.close_tz)
        self.anchor = self.open_tz

    def close_after(self, opened: int) -> int:
        """The first (close_weekday, close_minute) in close_tz after ``opened``."""
        local = datetime.fromtimestamp(opened, self.close_tz).date()
        day = local + timedelta(days=(self.spec.close_weekday - local.weekday()) % 7)
        closed = _wall_to_epoch(self.close_tz, day, self.spec.close_minute)
        if closed <= opened:
            closed = _wall_to_epoch(self.close_tz, day + timedelta(days=7), self.spec.close_minute)
        return closed

    def __call__(self, year: int) -> list[Interval]:
        first = date(year, 1, 1)
        day = first + timedelta(days=(self.spec.open_weekday - first.weekday()) % 7)
        out: list[Interval] = []
        while day.year == year:
            opened = _wall_to_epoch(self.open_tz, day, self.spec.open_minute)
            out.append((opened, self.close_after(opened)))
            day += timedelta(days=7)
        return out


# --------------------------------------------------------------------------- tables


class _Table:
    """Merged intervals of years [y0, y1]; answers are exact for lo <= t <= hi.

    A plain slotted class (not a NamedTuple): attribute access is on the hot path.
    """

    __slots__ = ("cum", "cum_before", "ends", "hi", "lo", "starts", "y0", "y1")

    def __init__(self, y0: int, y1: int, lo: int, hi: int, intervals: list[Interval]) -> None:
        self.y0, self.y1 = y0, y1
        self.lo = lo  # no interval of year y0-1 reaches this instant
        self.hi = hi  # no interval of year y1+1 starts before this instant
        self.starts: list[int] = []
        self.ends: list[int] = []
        self.cum: list[int] = []  # business seconds from the origin to ends[i]
        self.cum_before: list[int] = []  # business seconds from the origin to starts[i]
        total = 0
        for s, e in _merge(intervals):
            self.starts.append(s)
            self.ends.append(e)
            self.cum_before.append(total)
            total += e - s
            self.cum.append(total)

    def b(self, t: int) -> int:
        """Business seconds from the table origin up to instant t."""
        starts = self.starts
        i = bisect_right(starts, t) - 1
        if i < 0:
            return 0
        return self.cum_before[i] + min(t, self.ends[i]) - starts[i]


def _merge(intervals: list[Interval]) -> list[Interval]:
    """Sort and merge overlapping or touching half-open intervals."""
    merged: list[list[int]] = []
    for s, e in sorted(intervals):
        if merged and s <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], e)
        else:
            merged.append([s, e])
    return [(s, e) for s, e in merged]


# --------------------------------------------------------------------------- calendar


class BusinessCalendar:
    """Business-time arithmetic for one spec; build via :func:`calendar_for`.

    Tables are built lazily and extended a year at a time when a query falls
    outside them; the table is swapped atomically under a lock, so concurrent
    readers always see a consistent snapshot.
    """

    def __init__(self, spec: Spec) -> None:
        if isinstance(spec, RegionalSpec):
            self._years: _RegionalYears | _WeekSpanYears = _RegionalYears(spec)
        elif isinstance(spec, WeekSpanSpec):
            self._years = _WeekSpanYears(spec)
        else:
            raise CalendarError(f"unsupported calendar spec: {type(spec).__name__}")
        self.spec = spec
        self._raw: dict[int, list[Interval]] = {}
        self._table: _Table | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"BusinessCalendar({self.spec!r})"

    # ---------------------------------------------------------------- table upkeep

    def _year_start(self, year: int) -> int:
        return _wall_to_epoch(self._years.anchor, date(year, 1, 1), 0)

    def _local_year(self, t: int) -> int:
        try:
            return datetime.fromtimestamp(t, self._years.anchor).year
        except (OverflowError, ValueError, OSError) as error:    # beyond year 9999 (or 1) in the zone
            raise CalendarError(f"instant {t} is outside {MIN_YEAR}..{MAX_YEAR}") from error

    def _build(self, y0: int, y1: int) -> _Table:
        """(Re)build one contiguous table for years [y0, y1] from cached years."""
        if y0 < MIN_YEAR or y1 > MAX_YEAR:
            raise CalendarError(f"years {y0}..{y1} are outside {MIN_YEAR}..{MAX_YEAR}")
        with self._lock:
            current = self._table
            if current is not None and current.y0 <= y0 and y1 <= current.y1:
                return current  # another thread got here first
            if current is not None:
                y0, y1 = min(y0, current.y0), max(y1, current.y1)
            intervals: list[Interval] = []
            for year in range(y0, y1 + 1):
                if year not in self._raw:
                    self._raw[year] = self._years(year)
                intervals.extend(self._raw[year])
            lo = self._year_start(y0) + self._years.spill
            table = _Table(y0, y1, lo, self._year_start(y1 + 1), intervals)
            self._table = table
            return table

    def _cover(self, *instants: int) -> _Table:
        """A table that answers exactly for every given instant."""
        table = self._table
        while table is None or not all(table.lo <= t <= table.hi for t in instants):
            years = [self._local_year(t) for t in instants]
            y0, y1 = min(years), max(years)
            if table is not None and min(instants) < table.lo:
                y0 = min(y0, table.y0 - 1)  # t sits in the first days of y0
            table = self._build(y0, y1)
        return table

    def _grow_forward(self, table: _Table, *, origin_year: int) -> _Table:
        """Add the next year, refusing endless searches through closed years."""
        year = table.y1 + 1
        if year > origin_year + MAX_SEARCH_YEARS:
            raise CalendarError(f"no answer within {MAX_SEARCH_YEARS} years after {origin_year}")
        grown = self._build(table.y0, year)
        if not self._raw[year]:
            raise CalendarError(f"calendar has no open time in {year}: {self.spec!r}")
        return grown

    def _grow_backward(self, table: _Table, *, origin_year: int) -> _Table:
        year = table.y0 - 1
        if year < origin_year - MAX_SEARCH_YEARS:
            raise CalendarError(f"no answer within {MAX_SEARCH_YEARS} years before {origin_year}")
        grown = self._build(year, table.y1)
        if not self._raw[year]:
            raise CalendarError(f"calendar has no open time in {year}: {self.spec!r}")
        return grown

    # ---------------------------------------------------------------- queries

    def add_business_time(self, start: datetime, seconds: int) -> datetime:
        """The instant ``seconds`` of business time after ``start`` (aware UTC).

        A result landing exactly on a closing time is that closing time;
        ``seconds == 0`` returns the next opening (``start`` if open).
        Negative seconds go backwards; landing exactly on an opening returns it.
        """
        table = self._table
        if (
            start.__class__ is datetime
            and start.tzinfo is UTC  # what django.utils.timezone.now() returns
            and seconds.__class__ is int
            and seconds > 0
            and table is not None
        ):
            # Hot path (every SLA deadline), inlined: calls would cost ~15 %.
            # One bisect for B(t), one for its inverse.
            t = (start - _EPOCH) // _SECOND
            if table.lo <= t <= table.hi:
                starts, ends, cum = table.starts, table.ends, table.cum
                i = bisect_right(starts, t) - 1
                target = seconds
                if i >= 0:
                    target += table.cum_before[i] + min(t, ends[i]) - starts[i]
                j = bisect_left(cum, target)
                if j < len(cum):  # interval j lies wholly in the table: exact
                    return datetime.fromtimestamp(ends[j] - (cum[j] - target), UTC)
        return self._add_general(start, seconds)

    def _add_general(self, start: datetime, seconds: int) -> datetime:
        """Any input: validation, other zones, 0/negative seconds, table growth."""
        t = _to_epoch(start)
        seconds = int(seconds)
        if seconds == 0:
            return _from_epoch(self._next_opening(t))
        if seconds < 0:
            return _from_epoch(self._subtract(t, -seconds))
        return _from_epoch(self._add(t, seconds))

    def _add(self, t: int, seconds: int) -> int:
        """Earliest instant x with B(x) - B(t) == seconds, growing the table."""
        table = self._cover(t)
        origin_year = table.y1
        while True:
            target = table.b(t) + seconds
            j = bisect_left(table.cum, target)
            if j < len(table.cum):
                return table.ends[j] - (table.cum[j] - target)
            table = self._grow_forward(table, origin_year=origin_year)

    def _subtract(self, t: int, seconds: int) -> int:
        """Latest instant x <= t with B(t) - B(x) == seconds."""
        table = self._cover(t)
        origin_year = table.y0
        while True:
            target = table.b(t) - seconds
            j = bisect_right(table.cum_before, target) - 1
            if j >= 0:
                x = table.starts[j] + (target - table.cum_before[j])
                if x >= table.lo:
                    return x
            table = self._grow_backward(table, origin_year=origin_year)

    def business_time_between(self, a: datetime, b: datetime) -> int:
        """Business seconds in [a, b); negative if b < a."""
        ta, tb = _to_epoch(a), _to_epoch(b)
        table = self._table
        if table is None or not (table.lo <= ta <= table.hi and table.lo <= tb <= table.hi):
            table = self._cover(ta, tb)
        return table.b(tb) - table.b(ta)

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` lies inside an open [start, end) interval."""
        t = _to_epoch(at)
        table = self._cover(t)
        i = bisect_right(table.starts, t) - 1
        return i >= 0 and t < table.ends[i]

    def next_opening(self, at: datetime) -> datetime:
        """``at`` itself if open, else the next opening (aware UTC)."""
        return _from_epoch(self._next_opening(_to_epoch(at)))

    def _next_opening(self, t: int) -> int:
        table = self._cover(t)
        origin_year = table.y1
        while True:
            i = bisect_right(table.starts, t) - 1
            if i >= 0 and t < table.ends[i]:
                return t
            if i + 1 < len(table.starts):
                return table.starts[i + 1]
            table = self._grow_forward(table, origin_year=origin_year)

    def next_closing(self, at: datetime) -> datetime | None:
        """End of the open interval containing ``at`` (or of the next one).

        ``None`` when the calendar stays open for the whole search horizon
        (e.g. a 24x7 calendar); raises CalendarError if it never opens.
        """
        t = self._next_opening(_to_epoch(at))
        table = self._cover(t)
        origin_year = table.y1
        while True:
            i = bisect_right(table.starts, t) - 1
            if table.ends[i] < table.hi:  # year y1+1 cannot extend this interval
                return _from_epoch(table.ends[i])
            if table.y1 + 1 > origin_year + MAX_SEARCH_YEARS:
                return None
            table = self._build(table.y0, table.y1 + 1)

    def open_intervals(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Open intervals clipped to [start, end), as aware UTC pairs."""
        ts, te = _to_epoch(start), _to_epoch(end)
        if te <= ts:
            return []
        table = self._cover(ts, te)
        i = max(bisect_right(table.starts, ts) - 1, 0)
        out: list[tuple[datetime, datetime]] = []
        while i < len(table.starts) and table.starts[i] < te:
            s, e = max(table.starts[i], ts), min(table.ends[i], te)
            if s < e:
                out.append((_from_epoch(s), _from_epoch(e)))
            i += 1
        return out


@functools.lru_cache(maxsize=256)
def calendar_for(spec: Spec) -> BusinessCalendar:
    """Shared calendar per spec; a changed spec is a new key (= invalidation)."""
    return BusinessCalendar(spec)
