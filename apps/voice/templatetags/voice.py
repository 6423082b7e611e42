from django import template

from apps.voice.views import softphone_enabled, takes_calls
from supportdesk.text import minutes_seconds

register = template.Library()


@register.simple_tag
def softphone_for(user) -> bool:
    return softphone_enabled() and takes_calls(user)


register.filter("minutes_seconds", minutes_seconds)
