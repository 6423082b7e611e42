"""Stored times on the owner portal, shown in the viewer's own zone.

Owners' admins have no agent profile, so the desk knows no zone of theirs: the page carries
each time in UTC (readable as it is) and ``portal/local-times.js`` rewrites it in the
browser's zone and the page's language.
"""

from datetime import UTC, datetime

from django import template
from django.utils.html import format_html

register = template.Library()


@register.filter
def moment(value: datetime | None, style: str = "minute") -> str:
    """``<time datetime="…">2026-12-07 09:05 UTC</time>``; ``style`` "day" shows the date only."""
    if not value:
        return "—"
    utc = value.astimezone(UTC)
    shown = utc.strftime("%Y-%m-%d") if style == "day" else utc.strftime("%Y-%m-%d %H:%M UTC")
    return format_html('<time datetime="{}" data-local="{}">{}</time>', utc.isoformat(), style, shown)
