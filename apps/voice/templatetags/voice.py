from django import template

from apps.tickets import access
from apps.voice.views import softphone_enabled, takes_calls
from supportdesk.text import minutes_seconds

register = template.Library()
EARLIER = 10


@register.simple_tag
def earlier_tickets(ticket, user):
    """The caller's other tickets (any channel) that this agent may see, newest first."""
    others = access.visible_tickets(user).filter(contact_id=ticket.contact_id).exclude(pk=ticket.pk)
    return list(others.order_by("-received_at")[:EARLIER])


@register.simple_tag
def softphone_for(user) -> bool:
    return softphone_enabled() and takes_calls(user)


register.filter("minutes_seconds", minutes_seconds)
