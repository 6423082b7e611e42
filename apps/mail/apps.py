from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "apps.mail"
    verbose_name = _("Email")

    def ready(self):
        from apps.mail import outbound, selectors
        from apps.outbox import registry
        from apps.policy.languages import Channel
        from apps.tickets import channels

        registry.register(outbound.KIND, outbound.deliver_outbound_items, queue="mail",
                          describe=outbound.describe_outbound_items)
        for channel in (Channel.EMAIL, Channel.FEEDBACK):
            channels.register(channel, deliver_reply=outbound.send_reply, reaches=selectors.has_address)
