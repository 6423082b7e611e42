from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceConfig(AppConfig):
    """The phone line: Twilio's IVR and queues, voicemail, and calls bridged to the agent who accepts."""

    name = "apps.voice"
    verbose_name = _("Phone")

    def ready(self):
        from apps.desk.signals import ticket_taken
        from apps.outbox import registry
        from apps.policy.languages import Channel
        from apps.routing.signals import presence_changed
        from apps.tickets import channels
        from apps.voice import bridge, calls
        from apps.voice.models import Call

        def live_among(tickets) -> set[int]:
            """A call is live while a person may still pick it up; a voicemail or callback is async work."""
            state_of = dict(Call.objects.filter(sid__in=[ticket.external_ref for ticket in tickets])
                            .values_list("sid", "state"))
            return {ticket.pk for ticket in tickets
                    if (state := state_of.get(ticket.external_ref)) is None or Call(state=state).live}

        def live_while(ticket) -> bool:
            return ticket.pk in live_among([ticket])

        channels.register(Channel.VOICE, console_panel="voice/console_panel.html", live_while=live_while,
                          live_among=live_among, in_progress=calls.in_progress)
        registry.register(bridge.KIND, bridge.deliver_calls, queue="default", describe=bridge.describe_calls,
                          retry_base_seconds=bridge.retry_base_seconds, max_age_seconds=bridge.max_age_seconds)
        ticket_taken.connect(bridge.on_ticket_taken, dispatch_uid="voice-bridge")
        presence_changed.connect(calls.forget_who_is_online, dispatch_uid="voice-forget-online")
