from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OutboxConfig(AppConfig):
    name = "apps.outbox"
    verbose_name = _("Outbox")

    def ready(self):
        from apps.outbox import email, registry

        registry.register(email.KIND, email.deliver_emails, queue="mail", describe=email.describe_emails)
