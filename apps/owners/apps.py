from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OwnersConfig(AppConfig):
    name = "apps.owners"
    verbose_name = _("Extension owners")
