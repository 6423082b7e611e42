from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "apps.mail"
    verbose_name = _("Email")

    def ready(self):
        from apps.mail import outbound
        from apps.outbox import registry

        registry.register(outbound.KIND, outbound.deliver_outbound_items, queue="mail",
                          describe=outbound.describe_outbound_items)
