"""One way to show an instant to an agent: the same text the console's script writes live.

The console's script formats with ``Intl.DateTimeFormat(language, {dateStyle: "short",
timeStyle: "short", timeZone})``; both it and Babel follow CLDR's short date and time
patterns, so a line reads the same before and after a reload ("2026-12-05 08:17" in
Swedish, "12/5/26, 8:17 AM" in English). Chromium writes a plain space where CLDR has a
narrow no-break space (before "AM"); both sides write the plain one.
"""

from datetime import UTC, datetime

from babel.dates import format_datetime
from django.conf import settings
from django.utils import timezone, translation
from django.utils.html import format_html


def local_text(value: datetime, *, language: str | None = None, zone=None) -> str:
    """``value`` as the agent reads it: in their zone and language (the active ones by default)."""
    language = language or translation.get_language() or settings.LANGUAGE_CODE
    zone = zone or timezone.get_current_timezone()
    text = format_datetime(value, "short", tzinfo=zone, locale=translation.to_locale(language))
    return text.replace("\u202f", " ")


def time_element(value: datetime | None) -> str:
    """``<time datetime="…UTC…">local text</time>``: machine-readable, and what the script would write."""
    if value is None:
        return "—"
    return format_html('<time datetime="{}">{}</time>', value.astimezone(UTC).isoformat(), local_text(value))
