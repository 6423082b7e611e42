from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "apps.sla"
    verbose_name = _("SLA")

    def ready(self):
        from apps.policy.signals import hours_changed
        from apps.sla.models import SlaTarget
        from apps.tickets import labels

        hours_changed.connect(_recompute, dispatch_uid="sla-recompute")
        labels.register("target", SlaTarget.Kind)


def _recompute(*, region_id=None, **_signal) -> None:
    """Policy hours were edited: running clocks of that region get new deadlines (after commit)."""
    from apps.sla.services import request_recompute

    request_recompute(region_id=region_id)
