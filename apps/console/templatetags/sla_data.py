"""``targets|sla_data``: a page's SLA clocks as the JSON the live pushes carry.

The worklist and the ticket page once wrote this JSON by hand and left out ``not_applicable``,
so a set-aside clock (voicemail, an abandoned call) read "breached" until the first push.
"""

import json

from django import template

from apps.console.selectors import sla_payload
from apps.sla.models import SlaTarget

register = template.Library()


@register.filter
def sla_data(targets) -> str:
    """``data-sla`` for one target or several; autoescaping makes the JSON safe in an attribute."""
    return json.dumps(sla_payload([targets] if isinstance(targets, SlaTarget) else targets))
