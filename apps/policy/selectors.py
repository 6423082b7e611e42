"""Reads of the policy for the manager's settings pages: the regions' hours, holidays and dates."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import Prefetch, QuerySet

from apps.policy.businesstime import CalendarError
from apps.policy.models import DateOverride, OpeningPeriod, Region, ServiceWindow

# Django's language codes → the holidays package's; a country's names come in the first of these it knows.
HOLIDAY_LANGUAGES = {"en": ("en_US",), "sv": ("sv",), "es": ("es",), "de": ("de",),
                     "zh-hans": ("zh_CN", "zh_TW"), "ja": ("ja",)}
FALLBACK_HOLIDAY_LANGUAGE = "en_US"


@dataclass(frozen=True)
class Holiday:
    date: date
    name: str


@dataclass(frozen=True)
class RegionHolidays:
    region: Region
    holidays: list[Holiday]
    error: str = ""


def regions_with_hours() -> QuerySet[Region]:
    """Every region with its weekly periods (by weekday and time) and its dates (by date)."""
    return Region.objects.order_by("name").prefetch_related(
        Prefetch("periods", queryset=OpeningPeriod.objects.order_by("weekday", "start")),
        Prefetch("overrides", queryset=DateOverride.objects.order_by("date", "start")))


def service_windows() -> QuerySet[ServiceWindow]:
    return ServiceWindow.objects.order_by("name")


def holiday_language(country_class, language: str) -> str | None:
    """The holidays package's code for ``language`` if this country has its names in it, else English's."""
    supported = getattr(country_class, "supported_languages", ()) or ()
    for code in HOLIDAY_LANGUAGES.get(language, ()):
        if code in supported:
            return code
    return FALLBACK_HOLIDAY_LANGUAGE if FALLBACK_HOLIDAY_LANGUAGE in supported else None


def region_holidays(*, region: Region, start: date, days: int = 365, language: str = "en") -> RegionHolidays:
    """The national holidays that close ``region`` from ``start`` for ``days`` days, named in ``language``
    where the holidays package can (else in English), as the business calendar counts them."""
    if not region.holiday_country:
        return RegionHolidays(region=region, holidays=[])
    import holidays

    end = start + timedelta(days=days)
    try:
        country_class = holidays.country_holidays(region.holiday_country).__class__
        found = holidays.country_holidays(
            region.holiday_country, subdiv=region.holiday_subdivision or None,
            categories=tuple(region.holiday_categories or ["public"]),
            years=range(start.year, end.year + 1), language=holiday_language(country_class, language))
    except (NotImplementedError, KeyError, ValueError, CalendarError) as error:
        return RegionHolidays(region=region, holidays=[], error=str(error))
    return RegionHolidays(region=region, holidays=[
        Holiday(date=day, name=name) for day, name in sorted(found.items()) if start <= day < end])
