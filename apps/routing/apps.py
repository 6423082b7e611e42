from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "apps.routing"
    verbose_name = _("Routing")

    def ready(self):
        from apps.routing.models import AgentState
        from apps.tickets import labels

        labels.register("presence", AgentState.Presence)
