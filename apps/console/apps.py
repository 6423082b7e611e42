from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "apps.console"
    verbose_name = _("Agent console")

    def ready(self):
        from apps.accounts.services import on_scope_change
        from apps.console.events import on_misassigned, on_offer_made, on_ticket_events, regroup_consoles
        from apps.desk.signals import misassigned
        from apps.routing.signals import offer_made
        from apps.tickets.publish import ticket_events_committed

        on_scope_change(regroup_consoles)
        ticket_events_committed.connect(on_ticket_events, dispatch_uid="console-push")
        offer_made.connect(on_offer_made, dispatch_uid="console-offer")
        misassigned.connect(on_misassigned, dispatch_uid="console-misassigned")
