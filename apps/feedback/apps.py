from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FeedbackConfig(AppConfig):
    name = "apps.feedback"
    verbose_name = _("Feedback reports")

    def ready(self):
        from apps.policy.languages import Channel
        from apps.tickets import channels

        # The ticket page shows what the app sent with the report (installation, version, OS, device).
        channels.register(Channel.FEEDBACK, console_panel="feedback/console_panel.html")
