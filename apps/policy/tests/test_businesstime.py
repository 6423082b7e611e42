"""Tests for the pure business-time engine (no database, no Django).

Expected values are worked out by hand in the comments (local wall time of
the calendar unless a zone is named); the property tests compare the engine
with a deliberately naive minute-stepping oracle.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.policy.businesstime import (
    BusinessCalendar,
    CalendarError,
    HolidaySource,
    Period,
    RegionalSpec,
    WeekSpanSpec,
    calendar_for,
    holiday_dates,
    validate_periods,
)

H = 3600
STO = ZoneInfo("Europe/Stockholm")
NY = ZoneInfo("America/New_York")
TYO = ZoneInfo("Asia/Tokyo")
KL = ZoneInfo("Asia/Kuala_Lumpur")


def weekdays(start: str, end: str) -> tuple[Period, ...]:
    """Mon-Fri periods from 'HH:MM' strings (end may be past 24:00)."""

    def minutes(hhmm: str) -> int:
        hh, mm = hhmm.split(":")
        return int(hh) * 60 + int(mm)

    return tuple(Period(wd, minutes(start), minutes(end)) for wd in range(5))


EUROPE = RegionalSpec(
    "Europe/Stockholm",
    weekdays("08:00", "17:00"),
    HolidaySource("SE", categories=("public", "de_facto")),
)
EUROPE_PUBLIC_ONLY = RegionalSpec(
    "Europe/Stockholm", weekdays("08:00", "17:00"), HolidaySource("SE")
)
US = RegionalSpec("America/New_York", weekdays("08:00", "20:00"), HolidaySource("US"))
JAPAN = RegionalSpec(
    "Asia/Tokyo", weekdays("09:00", "17:30"), HolidaySource("JP", categories=("public", "bank"))
)
MALAYSIA = RegionalSpec("Asia/Kuala_Lumpur", weekdays("06:00", "17:00"), HolidaySource("MY", "KUL"))
MALAYSIA_NATIONAL = RegionalSpec(
    "Asia/Kuala_Lumpur", weekdays("06:00", "17:00"), HolidaySource("MY")
)
# Night desk: Mon-Fri 22:00-02:00 New York; periods spill into Tue-Sat, never
# onto a Sunday, so no DST transition (02:00 Sunday) touches a boundary.
NIGHT = RegionalSpec("America/New_York", weekdays("22:00", "26:00"), HolidaySource("US"))
CHAT_24X5 = WeekSpanSpec()  # Mon 06:00 Kuala Lumpur -> Fri 20:00 New York


def local(tz: ZoneInfo, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=tz, fold=fold)


def sto(*args: int, fold: int = 0) -> datetime:
    return local(STO, *args, fold=fold)


def add(spec, start: datetime, seconds: int) -> datetime:
    return calendar_for(spec).add_business_time(start, seconds)


def between(spec, a: datetime, b: datetime) -> int:
    return calendar_for(spec).business_time_between(a, b)


# --------------------------------------------------------------------------- notes §3: Europe


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Fri 16-17 (1 h), Mon 08-17 (9 h), Tue 08-10 (2 h)
        (sto(2025, 5, 16, 16), 12, sto(2025, 5, 20, 10)),
        # boundary: the deadline lands exactly on closing -> closing, not Mon 08:00
        (sto(2025, 5, 16, 16), 1, sto(2025, 5, 16, 17)),
        # starts outside hours: Mon 9 h + Tue 3 h
        (sto(2025, 5, 17, 10), 12, sto(2025, 5, 20, 11)),
        # DST starts Sun 2025-03-30; result in CEST (+02:00)
        (sto(2025, 3, 28, 16), 12, sto(2025, 4, 1, 10)),
        # DST ends Sun 2025-10-26; result in CET (+01:00)
        (sto(2025, 10, 24, 16), 12, sto(2025, 10, 28, 10)),
        # ambiguous Sun 02:30 (first occurrence): Mon 9 h + Tue 3 h
        (sto(2025, 10, 26, 2, 30), 12, sto(2025, 10, 28, 11)),
        # ... and the second occurrence gives the same (the desk is closed anyway)
        (sto(2025, 10, 26, 2, 30, fold=1), 12, sto(2025, 10, 28, 11)),
        # Midsummer Eve Fri 20 Jun (de_facto): Thu 1 h, Mon 9 h, Tue 2 h
        (sto(2025, 6, 19, 16), 12, sto(2025, 6, 24, 10)),
        # Christmas 24-26 Dec: Tue 23rd 1 h, Mon 29th 9 h, Tue 30th 2 h
        (sto(2025, 12, 23, 16), 12, sto(2025, 12, 30, 10)),
        # New Year: Tue 30th 1 h, (31 Dec, 1 Jan closed) Fri 2 Jan 9 h, Mon 5 Jan 2 h
        (sto(2025, 12, 30, 16), 12, sto(2026, 1, 5, 10)),
    ],
)
def test_europe_hand_cases(start: datetime, hours: int, expected: datetime) -> None:
    result = add(EUROPE, start, hours * H)
    assert result == expected
    assert result.tzinfo is UTC


def test_europe_midsummer_needs_de_facto_category() -> None:
    # public only: Midsummer Eve is a working day -> Thu 1 h, Fri 9 h, Mon 2 h
    assert add(EUROPE_PUBLIC_ONLY, sto(2025, 6, 19, 16), 12 * H) == sto(2025, 6, 23, 10)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (sto(2025, 10, 24, 12), sto(2025, 10, 27, 12)),  # Fri 5 h + Mon 4 h, across DST end
        (sto(2025, 3, 28, 12), sto(2025, 3, 31, 12)),  # same across DST start
        (sto(2025, 6, 19, 12), sto(2025, 6, 23, 12)),  # Thu 5 h + Mon 4 h over Midsummer
        (sto(2025, 12, 23, 8), sto(2025, 12, 29, 8)),  # Tue 9 h, 24-26 Dec closed, Mon 0 h
    ],
)
def test_europe_elapsed_nine_hours(a: datetime, b: datetime) -> None:
    assert between(EUROPE, a, b) == 9 * H
    assert between(EUROPE, b, a) == -9 * H


def test_holiday_dates_names() -> None:
    se = holiday_dates(HolidaySource("SE", categories=("public", "de_facto")), 2025)
    assert se[date(2025, 6, 20)] == "Midsummer Eve"
    assert date(2025, 6, 20) not in holiday_dates(HolidaySource("SE"), 2025)
    # observed day of next year's holiday stays in the year it falls on
    assert date(2027, 12, 31) in holiday_dates(HolidaySource("US"), 2027)
    assert all(d.year == 2028 for d in holiday_dates(HolidaySource("US"), 2028))


# --------------------------------------------------------------------------- United States


def test_us_dst_start_differs_from_eu() -> None:
    # US DST starts Sun 2025-03-09, EU only on 2025-03-30.
    # Fri 07 Mar 19:00 EST + 2 h: Fri 19-20 (1 h), Mon 10 Mar 08:00 EDT + 1 h = 09:00 EDT = 13:00Z.
    assert add(US, local(NY, 2025, 3, 7, 19), 2 * H) == datetime(2025, 3, 10, 13, tzinfo=UTC)
    # Wed 12 Mar the US desk opens 08:00 EDT = 12:00Z (EST would give 13:00Z).
    us = calendar_for(US)
    assert not us.is_open(datetime(2025, 3, 12, 11, 59, tzinfo=UTC))
    assert us.is_open(datetime(2025, 3, 12, 12, 0, tzinfo=UTC))
    # The same day Stockholm (still CET) opens 08:00 = 07:00Z: 5 h ahead, not the usual 6.
    assert calendar_for(EUROPE).next_opening(datetime(2025, 3, 12, 0, tzinfo=UTC)) == datetime(
        2025, 3, 12, 7, tzinfo=UTC
    )
    # elapsed Fri 12:00 EST -> Mon 12:00 EDT = Fri 8 h + Mon 4 h (71 h of wall time)
    assert between(US, local(NY, 2025, 3, 7, 12), local(NY, 2025, 3, 10, 12)) == 12 * H


def test_us_dst_end_differs_from_eu() -> None:
    # US DST ends Sun 2025-11-02 (EU: 2025-10-26).
    # Fri 31 Oct 19:00 EDT + 2 h: 1 h Fri, Mon 3 Nov 08:00 EST + 1 h = 09:00 EST = 14:00Z.
    assert add(US, local(NY, 2025, 10, 31, 19), 2 * H) == datetime(2025, 11, 3, 14, tzinfo=UTC)
    # Between the two changes (Mon 27 Oct) New York is EDT: opens 12:00Z.
    assert calendar_for(US).next_opening(datetime(2025, 10, 27, 0, tzinfo=UTC)) == datetime(
        2025, 10, 27, 12, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("start", "hours", "expected"),
    [
        # Fri 16:00 arrival: Fri 16-20 (4 h) + Mon 08-16 (8 h)
        (local(NY, 2025, 5, 16, 16), 12, local(NY, 2025, 5, 19, 16)),
        # weekend arrival: Mon 08-20 is exactly 12 h -> Mon 20:00 (closing), not Tue 08:00
        (local(NY, 2025, 5, 17, 10), 12, local(NY, 2025, 5, 19, 20)),
        # arrival exactly at opening
        (local(NY, 2025, 5, 19, 8), 12, local(NY, 2025, 5, 19, 20)),
        # arrival exactly at closing: the closing instant is closed (half-open)
        (local(NY, 2025, 5, 19, 20), 1, local(NY, 2025, 5, 20, 9)),
        # Thanksgiving Thu 2025-11-27: Wed 19-20 (1 h) + Fri 28th 08-09
        (local(NY, 2025, 11, 26, 19), 2, local(NY, 2025, 11, 28, 9)),
        # Independence Day 2026 is a Saturday, observed Fri 3 Jul: Thu 1 h + Mon 6 Jul 1 h
        (local(NY, 2026, 7, 2, 19), 2, local(NY, 2026, 7, 6, 9)),
    ],
)
def test_us_deadlines(start: datetime, hours: int, expected: datetime) -> None:
    assert add(US, start, hours * H) == expected


def test_us_open_close_edges() -> None:
    us = calendar_for(US)
    opening, closing = local(NY, 2025, 5, 19, 8), local(NY, 2025, 5, 19, 20)
    assert us.is_open(opening) and not us.is_open(closing)
    assert not us.is_open(opening - timedelta(seconds=1))
    assert us.next_opening(opening) == opening
    assert us.next_opening(closing) == local(NY, 2025, 5, 20, 8)
    assert us.next_closing(opening) == closing
    assert us.next_closing(closing) == local(NY, 2025, 5, 20, 20)
    assert us.business_time_between(opening, closing) == 12 * H
    # seconds == 0 from a closed instant -> next opening; from an open one -> itself
    assert us.add_business_time(local(NY, 2025, 5, 17, 10), 0) == opening
    assert us.add_business_time(local(NY, 2025, 5, 19, 9), 0) == local(NY, 2025, 5, 19, 9)


# --------------------------------------------------------------------------- Japan


def test_japan_substitute_holiday() -> None:
    assert holiday_dates(JAPAN.holidays, 2026)[date(2026, 5, 6)] == "Substitute Holiday"
    assert not calendar_for(JAPAN).is_open(local(TYO, 2026, 5, 6, 10))
    # Fri 1 May 17:00 + 1 h: Fri 17:00-17:30 (0.5 h); Mon 4, Tue 5 and the substitute
    # Wed 6 May are closed; Thu 7 May 09:00 + 0.5 h = 09:30.
    assert add(JAPAN, local(TYO, 2026, 5, 1, 17), H) == local(TYO, 2026, 5, 7, 9, 30)


def test_japan_year_end_bank_holidays() -> None:
    # 31 Dec (bank), 1 Jan, 2-3 Jan (bank, weekend anyway) closed.
    # Wed 30 Dec 16:30 + 2 h: Wed 16:30-17:30 (1 h), Mon 4 Jan 09:00 + 1 h = 10:00.
    assert add(JAPAN, local(TYO, 2026, 12, 30, 16, 30), 2 * H) == local(TYO, 2027, 1, 4, 10)
    # Wed 30 Dec 09:00 -> Tue 5 Jan 09:00 = Wed 8.5 h + Mon 8.5 h = 17 h
    assert between(JAPAN, local(TYO, 2026, 12, 30, 9), local(TYO, 2027, 1, 5, 9)) == 17 * H
    # Fri 2 Jan 2026 is a bank holiday too (a weekday): Wed 31 Dec 2025 ... Mon 5 Jan
    assert calendar_for(JAPAN).next_opening(local(TYO, 2025, 12, 30, 18)) == local(
        TYO, 2026, 1, 5, 9
    )


# --------------------------------------------------------------------------- Malaysia


def test_malaysia_federal_territory_day() -> None:
    ftd = date(2027, 2, 1)
    assert ftd.weekday() == 0  # a Monday
    assert holiday_dates(MALAYSIA.holidays, 2027)[ftd] == "Federal Territory Day"
    # Fri 29 Jan 2027 16:00 + 12 h (11 h days): Fri 16-17 (1 h); Mon 1 Feb closed
    # in Kuala Lumpur; Tue 2 Feb 06:00 + 11 h = 17:00, exactly the closing time.
    assert add(MALAYSIA, local(KL, 2027, 1, 29, 16), 12 * H) == local(KL, 2027, 2, 2, 17)
    assert add(MALAYSIA, local(KL, 2027, 1, 29, 16), 12 * H) == datetime(2027, 2, 2, 9, tzinfo=UTC)
    # Nationally it is a working day: Mon 1 Feb 06:00 + 11 h = 17:00.
    assert add(MALAYSIA_NATIONAL, local(KL, 2027, 1, 29, 16), 12 * H) == local(KL, 2027, 2, 1, 17)


# --------------------------------------------------------------------------- 24x5 window


@pytest.mark.parametrize(
    ("monday", "friday"),
    [((2025, 1, 13), (2025, 1, 17)), ((2025, 7, 14), (2025, 7, 18))],  # winter, summer
)
def test_24x5_edges(monday: tuple[int, int, int], friday: tuple[int, int, int]) -> None:
    chat = calendar_for(CHAT_24X5)
    assert not chat.is_open(local(KL, *monday, 5, 59))
    assert chat.next_opening(local(KL, *monday, 5, 59)) == local(KL, *monday, 6)
    assert chat.is_open(local(KL, *monday, 6))
    assert chat.is_open(local(NY, *friday, 19, 59))
    assert not chat.is_open(local(NY, *friday, 20))
    assert chat.next_closing(local(KL, *monday, 6)) == local(NY, *friday, 20)


def test_24x5_close_in_utc_follows_new_york_dst() -> None:
    chat = calendar_for(CHAT_24X5)
    # Fri 20:00 EST = Sat 01:00Z in winter; Fri 20:00 EDT = Sat 00:00Z in summer
    assert chat.next_closing(local(NY, 2025, 1, 17, 12)) == datetime(2025, 1, 18, 1, tzinfo=UTC)
    assert chat.next_closing(local(NY, 2025, 7, 18, 12)) == datetime(2025, 7, 19, 0, tzinfo=UTC)
    # a full week: Sun 22:00Z -> Sat 01:00Z = 123 h (winter), -> Sat 00:00Z = 122 h (summer)
    assert chat.business_time_between(local(KL, 2025, 1, 13), local(KL, 2025, 1, 20)) == 123 * H
    assert chat.business_time_between(local(KL, 2025, 7, 14), local(KL, 2025, 7, 21)) == 122 * H


@pytest.mark.parametrize(
    ("friday", "monday"), [((2025, 1, 17), (2025, 1, 20)), ((2025, 7, 18), (2025, 7, 21))]
)
def test_24x5_friday_afternoon_plus_8h(
    friday: tuple[int, int, int], monday: tuple[int, int, int]
) -> None:
    # Fri 15:00 New York: 5 h to Fri 20:00, then Mon 06:00 KL + 3 h = 09:00 KL
    result = add(CHAT_24X5, local(NY, *friday, 15), 8 * H)
    assert result == local(KL, *monday, 9)


# --------------------------------------------------------------------------- past midnight


def test_period_past_midnight_belongs_to_its_start_day() -> None:
    night = calendar_for(NIGHT)
    assert not night.is_open(local(NY, 2025, 5, 19, 21, 59))  # Mon
    assert night.is_open(local(NY, 2025, 5, 20, 1, 59))  # Tue morning, Monday's period
    assert not night.is_open(local(NY, 2025, 5, 20, 2))
    # Mon 23:00 + 3 h = Tue 02:00 (closing); + 4 h = Tue 23:00
    assert add(NIGHT, local(NY, 2025, 5, 19, 23), 3 * H) == local(NY, 2025, 5, 20, 2)
    assert add(NIGHT, local(NY, 2025, 5, 19, 23), 4 * H) == local(NY, 2025, 5, 20, 23)
    # Fri night runs into Saturday 02:00; next opening after that is Mon 22:00
    assert night.next_opening(local(NY, 2025, 5, 17, 1)) == local(NY, 2025, 5, 17, 1)
    assert night.next_opening(local(NY, 2025, 5, 17, 2)) == local(NY, 2025, 5, 19, 22)
    # Memorial Day (Mon 26 May) removes Monday night: next is Tue 22:00
    assert night.next_opening(local(NY, 2025, 5, 24, 2)) == local(NY, 2025, 5, 27, 22)


def test_closure_removes_only_periods_starting_that_day() -> None:
    base = RegionalSpec("America/New_York", (Period(0, 22 * 60, 26 * 60), Period(1, 540, 1020)))
    tue = RegionalSpec(base.tz_name, base.periods, added_closures=frozenset({date(2025, 5, 20)}))
    mon = RegionalSpec(base.tz_name, base.periods, added_closures=frozenset({date(2025, 5, 19)}))
    tue_1am, tue_10am = local(NY, 2025, 5, 20, 1), local(NY, 2025, 5, 20, 10)
    assert calendar_for(base).is_open(tue_1am) and calendar_for(base).is_open(tue_10am)
    # closing Tuesday keeps Monday night's spill into Tuesday
    assert calendar_for(tue).is_open(tue_1am) and not calendar_for(tue).is_open(tue_10am)
    # closing Monday removes the night period, Tuesday day shift stays
    assert not calendar_for(mon).is_open(tue_1am) and calendar_for(mon).is_open(tue_10am)


def test_full_day_with_2400_end_merges_across_midnight() -> None:
    always = RegionalSpec("Europe/Stockholm", tuple(Period(d, 0, 1440) for d in range(7)))
    cal = calendar_for(always)
    start = sto(2025, 5, 16, 23, 30)
    assert cal.add_business_time(start, H) == sto(2025, 5, 17, 0, 30)  # no 1-min gap (#3180)
    assert cal.next_closing(start) is None  # open for the whole search horizon
    # the DST night has 23 hours of real time
    assert cal.business_time_between(sto(2025, 3, 30), sto(2025, 3, 31)) == 23 * H


# --------------------------------------------------------------------------- admin overrides


def test_special_hours_override_holiday_and_weekday() -> None:
    spec = RegionalSpec(
        EUROPE.tz_name,
        EUROPE.periods,
        EUROPE.holidays,
        special_hours=(
            (date(2025, 12, 24), ((600, 780),)),  # Christmas Eve opens 10:00-13:00
            (date(2025, 5, 14), ((720, 1020),)),  # Wed opens late at 12:00
            (date(2025, 5, 15), ()),  # Thu closed
        ),
    )
    cal = calendar_for(spec)
    assert cal.is_open(sto(2025, 12, 24, 11))
    assert cal.business_time_between(sto(2025, 12, 24), sto(2025, 12, 25)) == 3 * H
    assert cal.next_opening(sto(2025, 5, 14, 8, 30)) == sto(2025, 5, 14, 12)
    # Wed 16:00 + 2 h: Wed 1 h, Thu closed, Fri 08:00 + 1 h
    assert cal.add_business_time(sto(2025, 5, 14, 16), 2 * H) == sto(2025, 5, 16, 9)


def test_removed_holiday_and_added_closure() -> None:
    reopened = RegionalSpec(
        EUROPE.tz_name,
        EUROPE.periods,
        EUROPE.holidays,
        removed_holidays=frozenset({date(2025, 6, 20)}),
    )
    # Midsummer Eve worked: Thu 1 h, Fri 9 h, Mon 2 h
    assert add(reopened, sto(2025, 6, 19, 16), 12 * H) == sto(2025, 6, 23, 10)
    closed = RegionalSpec(
        EUROPE.tz_name,
        EUROPE.periods,
        EUROPE.holidays,
        added_closures=frozenset({date(2025, 5, 19)}),
    )
    # Fri 1 h, Mon 19 May closed, Tue 9 h, Wed 2 h
    assert add(closed, sto(2025, 5, 16, 16), 12 * H) == sto(2025, 5, 21, 10)


def test_calendar_for_caches_per_spec() -> None:
    assert calendar_for(EUROPE) is calendar_for(
        RegionalSpec("Europe/Stockholm", weekdays("08:00", "17:00"), EUROPE.holidays)
    )
    assert calendar_for(EUROPE) is not calendar_for(EUROPE_PUBLIC_ONLY)


# --------------------------------------------------------------------------- DST boundary rule


def test_boundary_in_spring_forward_gap_takes_effect_at_the_jump() -> None:
    # Stockholm 2025-03-30: 02:00 CET jumps to 03:00 CEST (01:00Z).
    # Sunday 01:00-02:30: 02:30 does not exist -> closes at the jump: 1 h instead of 1.5 h.
    cal = BusinessCalendar(RegionalSpec("Europe/Stockholm", (Period(6, 60, 150),)))
    assert cal.open_intervals(sto(2025, 3, 30), sto(2025, 3, 31)) == [
        (datetime(2025, 3, 30, 0, tzinfo=UTC), datetime(2025, 3, 30, 1, tzinfo=UTC))
    ]
    assert cal.business_time_between(sto(2025, 3, 23), sto(2025, 3, 24)) == 90 * 60
    # Sunday 02:15-02:45 lies wholly in the gap: no open time that day
    gap = BusinessCalendar(RegionalSpec("Europe/Stockholm", (Period(6, 135, 165),)))
    assert gap.business_time_between(sto(2025, 3, 30), sto(2025, 3, 31)) == 0


def test_ambiguous_boundary_uses_first_occurrence() -> None:
    # Stockholm 2025-10-26: 03:00 CEST falls back to 02:00 CET; 02:00-03:00 repeats.
    # Sunday 02:30-04:00 opens at the first 02:30 (00:30Z) and closes 04:00 CET (03:00Z): 2.5 h.
    late = BusinessCalendar(RegionalSpec("Europe/Stockholm", (Period(6, 150, 240),)))
    assert late.open_intervals(sto(2025, 10, 26), sto(2025, 10, 27)) == [
        (datetime(2025, 10, 26, 0, 30, tzinfo=UTC), datetime(2025, 10, 26, 3, tzinfo=UTC))
    ]
    # Sunday 01:00-02:30 closes at the first 02:30 (00:30Z): 1.5 h as on any Sunday.
    early = BusinessCalendar(RegionalSpec("Europe/Stockholm", (Period(6, 60, 150),)))
    assert early.business_time_between(sto(2025, 10, 26), sto(2025, 10, 27)) == 90 * 60


# --------------------------------------------------------------------------- errors


def test_naive_datetimes_are_rejected() -> None:
    cal, naive = calendar_for(EUROPE), datetime(2025, 5, 16, 16)
    for call in (
        lambda: cal.add_business_time(naive, H),
        lambda: cal.business_time_between(naive, sto(2025, 5, 17)),
        lambda: cal.is_open(naive),
        lambda: cal.next_opening(naive),
        lambda: cal.next_closing(naive),
        lambda: cal.open_intervals(naive, sto(2025, 5, 17)),
    ):
        with pytest.raises(CalendarError, match="naive"):
            call()


@pytest.mark.parametrize(
    "periods",
    [
        (Period(0, 480, 1020), Period(0, 960, 1100)),  # same day
        (Period(0, 22 * 60, 26 * 60), Period(1, 60, 300)),  # Mon night into Tue morning
        (Period(6, 22 * 60, 26 * 60), Period(0, 60, 300)),  # Sun night into Mon (week wrap)
        (Period(7, 480, 1020),),  # weekday out of range
        (Period(0, 1440, 1500),),  # start must be before 24:00
        (Period(0, 600, 600),),  # empty
        (Period(0, 600, 2881),),  # beyond 48:00
    ],
)
def test_bad_periods_raise(periods: tuple[Period, ...]) -> None:
    with pytest.raises(CalendarError):
        validate_periods(periods)
    with pytest.raises(CalendarError):
        BusinessCalendar(RegionalSpec("Europe/Stockholm", periods))


def test_touching_periods_are_fine() -> None:
    validate_periods((Period(0, 22 * 60, 26 * 60), Period(1, 120, 600), Period(6, 0, 1440)))


def test_bad_zone_country_and_special_hours_raise() -> None:
    with pytest.raises(CalendarError, match="time zone"):
        BusinessCalendar(RegionalSpec("Mars/Olympus_Mons", weekdays("08:00", "17:00")))
    with pytest.raises(CalendarError, match="time zone"):
        BusinessCalendar(WeekSpanSpec(close_tz="Nowhere/Else"))
    with pytest.raises(CalendarError, match="holidays"):
        BusinessCalendar(RegionalSpec("UTC", weekdays("08:00", "17:00"), HolidaySource("XX")))
    with pytest.raises(CalendarError):
        BusinessCalendar(
            RegionalSpec("UTC", (), special_hours=((date(2025, 1, 2), ((600, 700), (650, 800))),))
        )


def test_calendar_without_open_time_raises_instead_of_looping() -> None:
    cal = BusinessCalendar(RegionalSpec("Europe/Stockholm", ()))
    with pytest.raises(CalendarError, match="no open time"):
        cal.add_business_time(sto(2025, 5, 16), H)
    with pytest.raises(CalendarError, match="no open time"):
        cal.next_opening(sto(2025, 5, 16))
    with pytest.raises(CalendarError):
        cal.add_business_time(sto(2025, 5, 16), 0)
    assert cal.business_time_between(sto(2025, 1, 1), sto(2027, 1, 1)) == 0
    assert not cal.is_open(sto(2025, 5, 16, 12))
    assert cal.open_intervals(sto(2025, 1, 1), sto(2026, 1, 1)) == []


def test_absurd_years_are_rejected() -> None:
    cal = BusinessCalendar(EUROPE)
    with pytest.raises(CalendarError, match="outside"):
        cal.is_open(datetime(9000, 1, 1, tzinfo=UTC))


@pytest.mark.parametrize("start", [datetime.max.replace(tzinfo=UTC), datetime.min.replace(tzinfo=UTC)])
def test_the_ends_of_the_calendar_are_rejected_not_overflowed(start: datetime) -> None:
    """Near year 9999 (or 1) the local year lies past Python's calendar: an OverflowError was a 500."""
    with pytest.raises(CalendarError, match="outside"):
        BusinessCalendar(EUROPE).add_business_time(start, H)


def test_single_special_day_then_nothing() -> None:
    spec = RegionalSpec("UTC", (), special_hours=((date(2025, 3, 3), ((600, 660),)),))
    cal = BusinessCalendar(spec)
    assert cal.next_opening(datetime(2025, 1, 1, tzinfo=UTC)) == datetime(
        2025, 3, 3, 10, tzinfo=UTC
    )
    with pytest.raises(CalendarError):
        cal.next_opening(datetime(2025, 4, 1, tzinfo=UTC))


# --------------------------------------------------------------------------- misc behaviour


def test_microseconds_truncated_and_output_is_utc() -> None:
    start = sto(2025, 5, 19, 9, 0, 0) + timedelta(microseconds=999_999)
    result = add(EUROPE, start, 60)
    assert result == sto(2025, 5, 19, 9, 1) and result.tzinfo is UTC


def test_negative_seconds_go_backwards() -> None:
    # Tue 10:00 - 12 h = Fri 16:00; landing exactly on an opening returns the opening
    assert add(EUROPE, sto(2025, 5, 20, 10), -12 * H) == sto(2025, 5, 16, 16)
    assert add(EUROPE, sto(2025, 5, 19, 9), -H) == sto(2025, 5, 19, 8)
    assert add(EUROPE, sto(2026, 1, 2, 9), -2 * H) == sto(2025, 12, 30, 16)  # across years


def test_lazy_tables_extend_both_ways_consistently() -> None:
    fresh = BusinessCalendar(EUROPE)
    # far future first, then the past: the table stretches to one contiguous range
    assert fresh.add_business_time(sto(2031, 5, 16, 16), H) == sto(2031, 5, 16, 17)
    assert fresh.add_business_time(sto(2024, 12, 30, 16), 2 * H) == sto(2025, 1, 2, 9)
    other = BusinessCalendar(EUROPE)
    a, b = sto(2024, 12, 30, 16), sto(2031, 5, 16, 16)
    assert fresh.business_time_between(a, b) == other.business_time_between(a, b) > 0


def test_open_intervals_are_clipped_and_half_open() -> None:
    got = calendar_for(EUROPE).open_intervals(sto(2025, 5, 16, 12), sto(2025, 5, 19, 9))
    assert got == [
        (sto(2025, 5, 16, 12), sto(2025, 5, 16, 17)),
        (sto(2025, 5, 19, 8), sto(2025, 5, 19, 9)),
    ]


# --------------------------------------------------------------------------- property tests

MINUTE = 60
LO_MIN = int(datetime(2025, 1, 1, tzinfo=UTC).timestamp()) // MINUTE
HI_MIN = int(datetime(2028, 1, 1, tzinfo=UTC).timestamp()) // MINUTE
PROPERTY = settings(max_examples=100, deadline=None, derandomize=True, database=None)
ORACLE_SPECS = {"europe": EUROPE, "us": US, "japan": JAPAN, "night": NIGHT, "24x5": CHAT_24X5}
# Days where bugs hide: every holiday of the oracle calendars and the DST switches.
_TRICKY_DAYS = sorted(
    {
        d
        for src in (EUROPE.holidays, US.holidays, JAPAN.holidays)
        for y in (2025, 2026, 2027)
        for d in holiday_dates(src, y)
    }
    | {
        date(2025, 3, 9),
        date(2025, 3, 30),
        date(2025, 10, 26),
        date(2025, 11, 2),
        date(2026, 3, 8),
        date(2026, 3, 29),
        date(2026, 10, 25),
        date(2026, 11, 1),
        date(2027, 3, 14),
        date(2027, 3, 28),
        date(2027, 10, 31),
        date(2027, 11, 7),
    }
)
START_MINUTES = st.one_of(
    st.integers(LO_MIN, HI_MIN),
    st.builds(
        lambda day, offset: (
            int(datetime.combine(day, datetime.min.time(), UTC).timestamp()) // MINUTE + offset
        ),
        st.sampled_from(_TRICKY_DAYS),
        st.integers(-3 * 1440, 2 * 1440),
    ),
)


@cache
def oracle_is_open(name: str) -> Callable[[int], bool]:
    """Naive wall-clock membership test, independent of the engine's tables."""
    spec = ORACLE_SPECS[name]
    if isinstance(spec, WeekSpanSpec):
        return _oracle_week_span(spec)
    tz = ZoneInfo(spec.tz_name)
    src = spec.holidays
    closed = set(
        holidays.country_holidays(
            src.country, subdiv=src.subdiv, categories=src.categories, years=range(2024, 2030)
        )
    )

    def ranges(day: date) -> list[tuple[int, int]]:
        if day in closed:
            return []
        return [(p.start, p.end) for p in spec.periods if p.weekday == day.weekday()]

    def is_open(t: int) -> bool:
        wall = datetime.fromtimestamp(t, tz)
        minute, day = wall.hour * 60 + wall.minute, wall.date()
        if any(s <= minute < e for s, e in ranges(day)):
            return True
        return any(s <= minute + 1440 < e for s, e in ranges(day - timedelta(days=1)))

    return is_open


def _oracle_week_span(spec: WeekSpanSpec) -> Callable[[int], bool]:
    open_tz, close_tz = ZoneInfo(spec.open_tz), ZoneInfo(spec.close_tz)

    def is_open(t: int) -> bool:
        # the last weekly opening at or before t, then the first closing after it
        wall = datetime.fromtimestamp(t, open_tz)
        day = wall.date() - timedelta(days=(wall.weekday() - spec.open_weekday) % 7)
        opened = datetime.combine(day, datetime.min.time(), open_tz) + timedelta(
            minutes=spec.open_minute
        )
        if opened.timestamp() > t:
            opened -= timedelta(days=7)
        closing = opened.astimezone(close_tz)
        closing = closing.replace(hour=0, minute=0) + timedelta(
            days=(spec.close_weekday - closing.weekday()) % 7, minutes=spec.close_minute
        )
        if closing <= opened:
            closing += timedelta(days=7)
        return closing.timestamp() > t

    return is_open


def oracle_add(name: str, t: int, seconds: int) -> int:
    """Step minute by minute until ``seconds`` of open time have passed."""
    is_open = oracle_is_open(name)
    if seconds == 0:
        while not is_open(t):
            t += MINUTE
        return t
    counted = 0
    while counted < seconds:
        if is_open(t):
            counted += MINUTE
        t += MINUTE
    return t


def oracle_between(name: str, a: int, b: int) -> int:
    is_open = oracle_is_open(name)
    return sum(MINUTE for t in range(a, b, MINUTE) if is_open(t))


def utc(t: int) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@pytest.mark.parametrize("name", sorted(ORACLE_SPECS))
@PROPERTY
@given(start=START_MINUTES, minutes=st.integers(0, 30 * 60))
def test_add_matches_oracle(name: str, start: int, minutes: int) -> None:
    t = start * MINUTE
    expected = oracle_add(name, t, minutes * MINUTE)
    assert calendar_for(ORACLE_SPECS[name]).add_business_time(utc(t), minutes * MINUTE) == utc(
        expected
    )


@pytest.mark.parametrize("name", sorted(ORACLE_SPECS))
@PROPERTY
@given(start=START_MINUTES, span=st.integers(0, 4 * 24 * 60))
def test_between_matches_oracle(name: str, start: int, span: int) -> None:
    a, b = start * MINUTE, (start + span) * MINUTE
    cal = calendar_for(ORACLE_SPECS[name])
    expected = oracle_between(name, a, b)
    assert cal.business_time_between(utc(a), utc(b)) == expected
    assert cal.business_time_between(utc(b), utc(a)) == -expected
    assert cal.is_open(utc(a)) == oracle_is_open(name)(a)


@pytest.mark.parametrize("name", sorted(ORACLE_SPECS))
@settings(max_examples=300, deadline=None, derandomize=True, database=None)
@given(start=st.integers(LO_MIN * MINUTE, HI_MIN * MINUTE), seconds=st.integers(0, 30 * H))
def test_add_then_between_round_trips(name: str, start: int, seconds: int) -> None:
    # no oracle needed: B(add(a, d)) - B(a) == d for any instant, and subtracting
    # d again lands on the start, or on the next opening if the start was closed
    cal = calendar_for(ORACLE_SPECS[name])
    a = utc(start)
    deadline = cal.add_business_time(a, seconds)
    assert deadline >= a
    assert cal.business_time_between(a, deadline) == seconds
    if seconds:
        back = cal.add_business_time(deadline, -seconds)
        assert back == cal.next_opening(a)
        assert cal.business_time_between(back, deadline) == seconds
