"""SLA targets: one row per clock on a ticket, with its deadline and outcome."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SlaTarget(models.Model):
    class Kind(models.TextChoices):
        ACKNOWLEDGE = "acknowledge", _("Acknowledgement")
        FIRST_RESPONSE = "first_response", _("First response")
        # A call that became async work (voicemail, a callback asked for, a caller who hung up in
        # the queue) is answered later, on the async clock; its live answer target is set aside.
        CALLBACK = "callback", _("Call back")

    ticket = models.ForeignKey("tickets.Ticket", on_delete=models.CASCADE, related_name="sla_targets",
                               verbose_name=_("ticket"))
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    clock = models.CharField(_("clock"), max_length=8)
    target_seconds = models.PositiveIntegerField(_("target (seconds)"))
    started_at = models.DateTimeField(_("started at"))
    due_at = models.DateTimeField(_("due at"))
    warn_at = models.DateTimeField(_("warn at"))
    met_at = models.DateTimeField(_("met at"), null=True, blank=True)
    warned_at = models.DateTimeField(_("warned at"), null=True, blank=True)
    breached_at = models.DateTimeField(_("breached at"), null=True, blank=True)
    # The target stopped applying before its deadline (a caller left the queue for voicemail within
    # the three minutes): recorded, and left out of compliance.
    not_applicable_at = models.DateTimeField(_("not applicable since"), null=True, blank=True)

    class Meta:
        verbose_name = _("SLA target")
        verbose_name_plural = _("SLA targets")
        ordering = ["due_at"]
        constraints = [models.UniqueConstraint(fields=["ticket", "kind"], name="one_target_per_kind")]
        indexes = [
            # The sweep reads only targets still running, so its cost follows what falls due.
            models.Index(fields=["due_at"], name="sla_running_due",
                         condition=models.Q(met_at__isnull=True, breached_at__isnull=True,
                                            not_applicable_at__isnull=True)),
            models.Index(fields=["warn_at"], name="sla_running_warn",
                         condition=models.Q(met_at__isnull=True, warned_at__isnull=True,
                                            breached_at__isnull=True, not_applicable_at__isnull=True)),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} due {self.due_at:%Y-%m-%d %H:%M}"

    @property
    def breached(self) -> bool:
        return self.breached_at is not None or (self.met_at is not None and self.met_at > self.due_at)
