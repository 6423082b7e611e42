"""``{{ code|label:"channel" }}``: a code as a word in the viewer's language (``apps.tickets.labels``).

A list of codes (an agent's languages) becomes its words joined by commas.
"""

from django import template

from apps.tickets.labels import label as word
from apps.tickets.labels import labels

register = template.Library()


@register.filter
def label(code, dimension: str) -> str:
    if isinstance(code, list | tuple):
        names = labels(dimension, code)
        return ", ".join(names.get(item, item) for item in code) or "—"
    return word(dimension, code)
