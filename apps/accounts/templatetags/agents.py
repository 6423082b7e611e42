"""How templates name agents and show instants to them: ``{{ user|display_name }}``, ``{{ value|moment }}``."""

from django import template

from apps.accounts.moments import time_element
from apps.accounts.names import display_name

register = template.Library()
register.filter("moment", time_element, is_safe=True)
register.filter("display_name", display_name)
