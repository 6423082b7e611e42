from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    """The owner portal: an owner's two admins see their extensions' tickets and send back what is not theirs."""

    name = "apps.portal"
    verbose_name = _("Owner portal")
