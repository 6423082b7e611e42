from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "apps.console"
    verbose_name = _("Agent console")

    def ready(self):
        from apps.accounts.services import on_scope_change
        from apps.console.events import regroup_consoles

        on_scope_change(regroup_consoles)
