from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DeskConfig(AppConfig):
    """The actions layer: the one door every edge uses to change a ticket."""

    name = "apps.desk"
    verbose_name = _("Desk")
