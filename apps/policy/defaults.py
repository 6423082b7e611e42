"""The policy's defaults (basic-support-policy.txt), installed by seed_demo and tests.

Everything here is data an administrator edits afterwards; installing again adds what
is missing and leaves existing rows as they are, so an edit survives ``make run``'s
seeding at every start.
"""

from datetime import time

from django.db import transaction

from apps.policy.languages import Channel, Language
from apps.policy.models import (
    ChannelRule,
    EntryPoint,
    LanguageRegion,
    OpeningPeriod,
    Region,
    ServiceWindow,
    SlaPolicy,
)

WEEKDAYS = range(5)

# slug, name, zone, opens, closes, holidays (country, subdivision, categories)
REGIONS = [
    ("us", "United States", "America/New_York", time(8), time(20), ("US", "", ["public"])),
    ("europe", "Europe", "Europe/Stockholm", time(8), time(17), ("SE", "", ["public", "de_facto"])),
    ("malaysia", "Malaysia", "Asia/Kuala_Lumpur", time(6), time(17), ("MY", "KUL", ["public"])),
    ("japan", "Japan", "Asia/Tokyo", time(9), time(17, 30), ("JP", "", ["public", "bank"])),
]

ENTRY_POINTS = [
    ("us", "+15550100001", "support-us@example.com", "en"),
    ("europe", "+46855500001", "support-eu@example.com", "sv"),
    ("malaysia", "+60355500001", "support-my@example.com", "en"),
    ("japan", "+81355500001", "support-jp@example.com", "ja"),
]

LANGUAGE_REGIONS = {"en": "us", "sv": "europe", "es": "europe", "de": "europe",
                    "zh-hans": "malaysia", "ja": "japan"}

CHANNEL_LANGUAGES = {
    Channel.VOICE: ["en", "sv"],
    Channel.CHAT: ["en", "sv", "es", "de"],
    Channel.EMAIL: Language.values,
    Channel.FEEDBACK: Language.values,
}

# channel: (first response seconds, clock)
SLA_TARGETS = {
    Channel.CHAT: (60, SlaPolicy.Clock.WALL),
    Channel.VOICE: (3 * 60, SlaPolicy.Clock.WALL),
    Channel.EMAIL: (8 * 3600, SlaPolicy.Clock.WINDOW),
    Channel.FEEDBACK: (8 * 3600, SlaPolicy.Clock.WINDOW),
}


@transaction.atomic
def install_default_policy() -> dict[str, Region]:
    regions = {}
    for slug, name, zone, opens, closes, (country, subdivision, categories) in REGIONS:
        region, created = Region.objects.get_or_create(slug=slug, defaults={
            "name": name, "tz_name": zone, "holiday_country": country,
            "holiday_subdivision": subdivision, "holiday_categories": categories})
        if created:
            OpeningPeriod.objects.bulk_create(
                OpeningPeriod(region=region, weekday=day, start=opens, end=closes) for day in WEEKDAYS)
        regions[slug] = region
    for slug, phone, mailbox, language in ENTRY_POINTS:
        for kind, address in ((EntryPoint.Kind.PHONE, phone), (EntryPoint.Kind.MAILBOX, mailbox),
                              (EntryPoint.Kind.WIDGET, f"widget-{slug}")):
            EntryPoint.objects.get_or_create(kind=kind, address=address, defaults={
                "region": regions[slug], "default_language": language})
    for language, slug in LANGUAGE_REGIONS.items():
        LanguageRegion.objects.get_or_create(language=language, defaults={"region": regions[slug]})
    window, _ = ServiceWindow.objects.get_or_create(name="24x5", defaults={
        "open_weekday": 0, "open_time": time(6), "open_tz": "Asia/Kuala_Lumpur",
        "close_weekday": 4, "close_time": time(20), "close_tz": "America/New_York"})
    for channel, languages in CHANNEL_LANGUAGES.items():
        hours = ChannelRule.Hours.REGION if channel == Channel.VOICE else ChannelRule.Hours.WINDOW
        ChannelRule.objects.get_or_create(channel=channel, defaults={
            "languages": list(languages), "hours": hours,
            "window": None if hours == ChannelRule.Hours.REGION else window})
    for channel, (seconds, clock) in SLA_TARGETS.items():
        SlaPolicy.objects.get_or_create(channel=channel, defaults={
            "response_seconds": seconds, "response_clock": clock, "acknowledge_seconds": 12 * 3600})
    return regions
