"""``event|event_detail`` in the ticket page's history (apps/console/history.py)."""

from django import template

from apps.console.history import event_detail

register = template.Library()
register.filter("event_detail", event_detail)
