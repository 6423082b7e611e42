"""The manager's edits of hours, dates and the service window: validated, then in force at once, even where
the configuration is remembered across requests (the phone line's webhooks)."""

from datetime import UTC, date, datetime, time

import pytest
import time_machine
from django.core.cache import cache
from django.utils import translation

from apps.policy import services
from apps.policy.models import DateOverride, ServiceWindow
from apps.policy.selectors import region_holidays
from apps.policy.services import PeriodInput, PolicyError, availability
from apps.policy.signals import hours_changed
from supportdesk.readonce import VERSION_KEY, read_once

pytestmark = pytest.mark.django_db

MONDAY_1730_STOCKHOLM = datetime(2026, 12, 7, 16, 30, tzinfo=UTC)
WEEKDAYS = range(5)


def europe_until(closing: time) -> list[PeriodInput]:
    return [PeriodInput(day, time(8), closing) for day in WEEKDAYS]


def phone_open(region, at) -> bool:
    return availability(channel="voice", language="sv", region=region, at=at).open


# --- weekly hours ---


def test_a_closing_not_after_the_opening_is_refused_naming_the_day():
    with translation.override("en"), pytest.raises(PolicyError) as refused:
        services.check_periods([PeriodInput(2, time(17), time(8))])
    assert str(refused.value) == "Wednesday: the closing time 08:00 is not after the opening time 17:00."


def test_overlapping_periods_of_one_day_are_refused():
    with translation.override("en"), pytest.raises(PolicyError) as refused:
        services.check_periods([PeriodInput(0, time(12), time(17)), PeriodInput(0, time(8), time(12, 30))])
    assert str(refused.value) == "Monday: 08:00–12:30 and 12:00–17:00 overlap."


def test_touching_periods_and_a_midnight_closing_are_accepted():
    services.check_periods([PeriodInput(0, time(8), time(12)), PeriodInput(0, time(12), time(0)),
                            PeriodInput(1, time(0), time(8))])


def test_new_hours_replace_the_regions_periods(regions):
    services.set_opening_periods(region=regions["europe"], periods=[PeriodInput(5, time(10), time(14))])
    assert list(regions["europe"].periods.values_list("weekday", "start", "end")) == [(5, time(10), time(14))]


def test_refused_hours_leave_the_old_ones(regions):
    with pytest.raises(PolicyError):
        services.set_opening_periods(region=regions["europe"], periods=[PeriodInput(0, time(9), time(9))])
    assert regions["europe"].periods.count() == 5


def test_a_changed_hour_changes_whether_the_desk_is_open_even_where_answers_are_remembered(regions):
    europe = regions["europe"]
    version = cache.get(VERSION_KEY, 0)
    with read_once(across_requests=True):
        assert phone_open(europe, MONDAY_1730_STOCKHOLM) is False        # remembered in this process
    services.set_opening_periods(region=europe, periods=europe_until(time(18)))
    assert cache.get(VERSION_KEY, 0) > version                            # the other processes forget too
    with read_once(across_requests=True):
        assert phone_open(europe, MONDAY_1730_STOCKHOLM) is True
    services.set_opening_periods(region=europe, periods=europe_until(time(17)))
    with read_once(across_requests=True):
        assert phone_open(europe, MONDAY_1730_STOCKHOLM) is False


def test_a_change_of_hours_asks_for_the_running_clocks_to_be_recomputed(regions):
    heard = []

    def listener(*, region_id, **_signal):
        heard.append(region_id)

    hours_changed.connect(listener)
    try:
        services.set_opening_periods(region=regions["japan"], periods=europe_until(time(17)))
        services.save_date_override(region=regions["us"], day=date(2026, 12, 31), kind="closed")
    finally:
        hours_changed.disconnect(listener)
    assert heard == [regions["japan"].pk, regions["us"].pk]


# --- dates ---


def test_a_closed_day_closes_the_region_and_removing_it_opens_it_again(regions):
    europe = regions["europe"]
    tuesday_ten = datetime(2026, 12, 8, 9, tzinfo=UTC)
    assert phone_open(europe, tuesday_ten) is True
    override = services.save_date_override(region=europe, day=date(2026, 12, 8), kind="closed", note="Move")
    assert phone_open(europe, tuesday_ten) is False
    services.delete_date_override(override=override)
    assert phone_open(europe, tuesday_ten) is True


def test_a_holiday_kept_open_and_special_hours_take_effect(regions):
    europe = regions["europe"]
    christmas_ten = datetime(2026, 12, 25, 9, tzinfo=UTC)        # Juldagen, a Friday
    assert phone_open(europe, christmas_ten) is False
    services.save_date_override(region=europe, day=date(2026, 12, 25), kind="reopen")
    assert phone_open(europe, christmas_ten) is True
    services.save_date_override(region=europe, day=date(2026, 12, 28), kind="special", start=time(12),
                                end=time(14))
    assert phone_open(europe, datetime(2026, 12, 28, 9, tzinfo=UTC)) is False       # 10:00 local
    assert phone_open(europe, datetime(2026, 12, 28, 12, tzinfo=UTC)) is True       # 13:00 local


def test_special_hours_on_one_day_may_not_overlap_nor_join_a_closed_day(regions):
    europe = regions["europe"]
    services.save_date_override(region=europe, day=date(2026, 12, 28), kind="special", start=time(8),
                                end=time(12))
    services.save_date_override(region=europe, day=date(2026, 12, 28), kind="special", start=time(13),
                                end=time(15))
    with translation.override("en"), pytest.raises(PolicyError, match="overlap"):
        services.save_date_override(region=europe, day=date(2026, 12, 28), kind="special", start=time(11),
                                    end=time(14))
    with translation.override("en"), pytest.raises(PolicyError, match="already has an entry"):
        services.save_date_override(region=europe, day=date(2026, 12, 28), kind="closed")
    assert DateOverride.objects.count() == 2


def test_times_on_a_closed_day_are_refused(regions):
    with translation.override("en"), pytest.raises(PolicyError, match="Only special hours have times."):
        services.save_date_override(region=regions["us"], day=date(2026, 12, 28), kind="closed", start=time(8),
                                    end=time(9))


def test_an_edited_date_keeps_its_row(regions):
    override = services.save_date_override(region=regions["us"], day=date(2026, 12, 28), kind="closed")
    services.save_date_override(region=regions["us"], day=date(2026, 12, 29), kind="closed", note="Moved",
                                override=override)
    assert list(DateOverride.objects.values_list("pk", "date", "note")) == [(override.pk, date(2026, 12, 29),
                                                                             "Moved")]


def test_a_date_is_not_moved_to_another_region(regions):
    override = services.save_date_override(region=regions["us"], day=date(2026, 12, 28), kind="closed")
    with pytest.raises(PolicyError):
        services.save_date_override(region=regions["japan"], day=date(2026, 12, 28), kind="closed",
                                    override=override)


# --- the service window ---


def test_an_earlier_friday_closing_closes_chat_and_email_then(regions):
    window = ServiceWindow.objects.get()
    friday_1900_new_york = datetime(2026, 12, 12, 0, tzinfo=UTC)
    assert availability(channel="email", language="de", region=regions["europe"], at=friday_1900_new_york).open
    services.update_service_window(window=window, open_weekday=0, open_time=time(6), open_tz="Asia/Kuala_Lumpur",
                                   close_weekday=4, close_time=time(18), close_tz="America/New_York")
    assert not availability(channel="email", language="de", region=regions["europe"], at=friday_1900_new_york).open


def test_an_unknown_zone_is_refused(regions):
    window = ServiceWindow.objects.get()
    with translation.override("en"), pytest.raises(PolicyError, match="Unknown time zone Mars/Olympus."):
        services.update_service_window(window=window, open_weekday=0, open_time=time(6), open_tz="Mars/Olympus",
                                       close_weekday=4, close_time=time(18), close_tz="America/New_York")
    window.refresh_from_db()
    assert window.open_tz == "Asia/Kuala_Lumpur"


# --- holidays shown to the manager ---


@time_machine.travel("2026-06-01 10:00 +00:00", tick=False)
def test_holidays_are_named_in_the_viewers_language_where_the_package_has_it(regions):
    start = date(2026, 6, 1)
    swedish = {h.date: h.name for h in region_holidays(region=regions["europe"], start=start, language="sv").holidays}
    english = {h.date: h.name for h in region_holidays(region=regions["europe"], start=start, language="en").holidays}
    german = {h.date: h.name for h in region_holidays(region=regions["europe"], start=start, language="de").holidays}
    assert swedish[date(2026, 12, 25)] == "Juldagen" and english[date(2026, 12, 25)] == "Christmas Day"
    assert german[date(2026, 12, 25)] == "Christmas Day"         # no German names for Sweden: English
    assert min(swedish) >= start and max(swedish) < date(2027, 6, 1)
    assert date(2027, 1, 1) in swedish


def test_a_region_without_a_holiday_country_has_none(regions):
    regions["us"].holiday_country = ""
    assert region_holidays(region=regions["us"], start=date(2026, 1, 1)).holidays == []
