"""Phone calls: one row per Twilio call, from its first webhook on, keyed by its CallSid."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Call(models.Model):
    """A call to one of the desk's numbers. Twilio repeats webhooks with the same CallSid, so every step
    finds this row again; a caller who hangs up in the menu leaves the row and no ticket."""

    class State(models.TextChoices):
        MENU = "menu", _("In the language menu")
        QUEUED = "queued", _("Waiting in the queue")
        BRIDGING = "bridging", _("Being connected to an agent")
        BRIDGED = "bridged", _("Talking to an agent")
        VOICEMAIL = "voicemail", _("Voicemail")
        CALLBACK = "callback", _("Asked to be called back")
        ABANDONED = "abandoned", _("Hung up while waiting")

    sid = models.CharField(_("call SID"), max_length=64, unique=True)
    from_number = models.CharField(_("from"), max_length=32, blank=True)
    to_number = models.CharField(_("to"), max_length=32, blank=True)
    region = models.ForeignKey("policy.Region", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("region"))
    language = models.CharField(_("language"), max_length=8, blank=True)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.MENU)
    menu_misses = models.PositiveSmallIntegerField(_("menu misses"), default=0)
    # What a waiting caller chose when they left the queue: "voicemail" or "callback".
    leaving_for = models.CharField(_("left the queue for"), max_length=12, blank=True)
    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.SET_NULL, null=True, blank=True,
                               related_name="calls", verbose_name=_("ticket"))
    queued_at = models.DateTimeField(_("queued at"), null=True, blank=True)
    queue_seconds = models.PositiveIntegerField(_("time in queue (seconds)"), null=True, blank=True)
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
                                    related_name="+", verbose_name=_("answered by"))
    # Twilio's own view of the call, from status callbacks (which may arrive out of order).
    twilio_status = models.CharField(_("Twilio status"), max_length=16, blank=True)
    status_sequence = models.IntegerField(_("last status sequence"), default=-1)
    duration_seconds = models.PositiveIntegerField(_("duration (seconds)"), null=True, blank=True)
    recording_sid = models.CharField(_("recording SID"), max_length=64, blank=True)
    recording_url = models.URLField(_("recording URL"), max_length=500, blank=True)
    recording_seconds = models.PositiveIntegerField(_("recording length (seconds)"), null=True, blank=True)
    transcription = models.TextField(_("transcription"), blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("phone call")
        verbose_name_plural = _("phone calls")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.from_number} → {self.to_number} ({self.get_state_display()})"

    @property
    def live(self) -> bool:
        """A person may still pick it up (or has): not voicemail, a callback or abandoned."""
        return self.state in (self.State.MENU, self.State.QUEUED, self.State.BRIDGING, self.State.BRIDGED)


class CallStep(models.Model):
    """A webhook of a call as it arrived, with what the desk told the caller: stored before Twilio hears the answer.

    The webhooks (all but the agent's leg ending) decide the caller's path from the request,
    the remembered configuration and the call's earlier steps, store this row
    and answer at once; the voice worker then writes the call's rows (the ticket, its clocks, the
    offer to an agent) from the stored steps, a call's steps in the order they arrived.
    """

    sid = models.CharField(_("call SID"), max_length=64, db_index=True)
    step = models.CharField(_("step"), max_length=16)
    # What the desk answered, where the answer decides what follows: "queued", "voicemail", "again", ...
    decision = models.CharField(_("decision"), max_length=16, blank=True)
    params = models.JSONField(_("parameters"), default=dict)
    received_at = models.DateTimeField(_("received at"))
    applied_at = models.DateTimeField(_("applied at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    error = models.TextField(_("last error"), blank=True)

    class Meta:
        verbose_name = _("call step")
        verbose_name_plural = _("call steps")
        ordering = ["pk"]
        indexes = [models.Index(fields=["id"], name="voice_callstep_pending",
                                condition=models.Q(applied_at__isnull=True))]

    def __str__(self) -> str:
        return f"{self.sid} {self.step} {self.decision}".strip()
