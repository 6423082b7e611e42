"""Language queues: one per language, split into live and async work."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.policy.languages import Channel, Language


class Queue(models.Model):
    class Kind(models.TextChoices):
        LIVE = "live", _("Live (chat, calls)")
        ASYNC = "async", _("Async (email, feedback, voicemail)")

    name = models.CharField(_("name"), max_length=100)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)

    class Meta:
        verbose_name = _("queue")
        verbose_name_plural = _("queues")
        ordering = ["language", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["language", "kind"], name="one_queue_per_language_kind"),
        ]

    def __str__(self) -> str:
        return self.name


LIVE_CHANNELS = {Channel.CHAT, Channel.VOICE}


def queue_kind_for(channel: str) -> str:
    return Queue.Kind.LIVE if channel in LIVE_CHANNELS else Queue.Kind.ASYNC
