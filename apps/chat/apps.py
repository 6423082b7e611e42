from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChatConfig(AppConfig):
    name = "apps.chat"
    verbose_name = _("Live chat")

    def ready(self):
        from apps.chat import agent_frames, services
        from apps.policy.languages import Channel
        from apps.tickets import channels

        channels.register(Channel.CHAT, deliver_reply=services.deliver_agent_message,
                          console_panel="chat/console_panel.html",
                          frame_types=agent_frames.HANDLERS, frame_handler=agent_frames.handle,
                          live_while=services.live_while, in_progress=services.in_progress)

