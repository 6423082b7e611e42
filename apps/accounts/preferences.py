"""What an agent may choose for themselves: a time zone, one of the UI languages."""

import zoneinfo
from functools import cache

# Each language named in itself, so an agent finds their own in any interface language.
# (Names in their own language are the same whatever language the page is in: not translated.)
LANGUAGE_AUTONYMS = {"en": "English", "sv": "Svenska", "es": "Español", "de": "Deutsch",
                     "zh-hans": "中文", "ja": "日本語"}


@cache
def available_time_zones() -> list[str]:
    """IANA zones an agent may pick, sorted, and UTC (legacy aliases such as "US/Eastern" left out)."""
    return sorted(zone for zone in zoneinfo.available_timezones()
                  if "/" in zone and not zone.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/"))
                  ) + ["UTC"]


def zone_label(zone: str) -> str:
    """"America/Argentina/Buenos_Aires" → "America / Argentina / Buenos Aires"."""
    return zone.replace("_", " ").replace("/", " / ")
