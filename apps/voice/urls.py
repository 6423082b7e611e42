"""/voice/: Twilio's webhooks (with and without a trailing slash, never redirected: Twilio signs the exact
URL it calls) and the agents' softphone token."""

from django.urls import re_path

from apps.voice import views, webhooks

app_name = "voice"


def webhook(name: str, view):
    return re_path(rf"^{name}/?$", view, name=name.replace("-", "_"))


urlpatterns = [
    webhook("incoming", webhooks.incoming),
    webhook("language", webhooks.choose_language),
    webhook("wait", webhooks.wait),
    webhook("queue-result", webhooks.queue_result),
    webhook("voicemail", webhooks.voicemail),
    webhook("transcription", webhooks.transcription),
    webhook("dial-result", webhooks.dial_result),
    webhook("status", webhooks.status),
    re_path(r"^token/?$", views.token, name="token"),
    re_path(r"^tickets/(?P<reference>[\w-]+)/callback/?$", views.log_callback, name="log_callback"),
    re_path(r"^tickets/(?P<reference>[\w-]+)/calls/(?P<call_id>\d+)/recording/?$", views.recording,
            name="recording"),
]
