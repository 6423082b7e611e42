"""What leaves the desk (mail, later Jira and Twilio calls): one row each until it is delivered.

A row is written in the transaction that decides to send, so nothing is sent for work
that rolled back and nothing decided is lost when Redis or the remote end is away:
a job delivers it after the commit, and the periodic sweep delivers whatever is due
(a retry, or a row whose job never ran). A row that cannot be delivered within its
time is a dead letter, listed for the manager, never dropped.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class OutboxItem(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting to be sent")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        DEAD = "dead", _("Not deliverable")

    kind = models.CharField(_("kind"), max_length=40)
    key = models.CharField(_("key"), max_length=200, help_text=_("Unique per kind: asking twice sends once."))
    payload = models.JSONField(_("payload"), default=dict)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"))
    claimed_at = models.DateTimeField(_("claimed at"), null=True, blank=True)
    expires_at = models.DateTimeField(_("given up after"))
    last_error = models.TextField(_("last error"), blank=True)
    # A dead letter that kept failing until its time ran out (the remote end was away), not one refused for good:
    # its kind may send it again by itself once the remote end answers (``services.revive_timed_out``).
    timed_out = models.BooleanField(_("ran out of time"), default=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("outbox item")
        verbose_name_plural = _("outbox items")
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="outbox_unique_kind_key")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key} ({self.status})"
