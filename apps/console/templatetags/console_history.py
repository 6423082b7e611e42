"""``event|event_detail`` in the ticket page's history (apps/console/history.py)."""

from django import template

from apps.console.history import event_detail as detail_of

register = template.Library()


@register.filter
def event_detail(event) -> str:
    return detail_of(event)
