from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PolicyConfig(AppConfig):
    name = "apps.policy"
    verbose_name = _("Policy")

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from supportdesk.readonce import on_model_change

        # The configuration remembered across requests is forgotten when any of its rows changes.
        post_save.connect(on_model_change, dispatch_uid="readonce-configuration-saved")
        post_delete.connect(on_model_change, dispatch_uid="readonce-configuration-deleted")
