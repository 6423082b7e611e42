"""API keys of desktop-app installations, and the reports they send.

Writes go through ``apps.feedback.services``.
"""

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

# The keys are 256-bit random tokens like staff API tokens, so the same plain SHA-256 serves.
from apps.accounts.models import hash_token as hash_key  # noqa: F401  (used by services and admin)

KEY_PREFIX = "sdfb_"


class ApiKey(models.Model):
    """One app installation's key for ``POST /api/feedback``; only its hash is stored."""

    name = models.CharField(_("installation"), max_length=200,
                            help_text=_("Which installation or build holds this key."))
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=12, editable=False,
                              help_text=_("The key's first characters, to recognise it in logs."))
    region = models.ForeignKey("policy.Region", on_delete=models.PROTECT, null=True, blank=True,
                               related_name="+", verbose_name=_("region"),
                               help_text=_("Region of this installation's reports; empty uses the language's."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("feedback API key")
        verbose_name_plural = _("feedback API keys")
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    @staticmethod
    def new_raw_key() -> str:
        return KEY_PREFIX + secrets.token_urlsafe(32)


class FeedbackReport(models.Model):
    """What the app sent with a report, beside the ticket it opened."""

    ticket = models.OneToOneField("tickets.Ticket", on_delete=models.CASCADE, related_name="feedback_report",
                                  verbose_name=_("ticket"))
    api_key = models.ForeignKey(ApiKey, on_delete=models.PROTECT, related_name="reports",
                                verbose_name=_("API key"))
    report_id = models.CharField(_("report id"), max_length=100, blank=True,
                                 help_text=_("The app's own id of the report; makes retries safe."))
    user_email = models.EmailField(_("user email"))
    language = models.CharField(_("language"), max_length=8)
    product = models.CharField(_("product"), max_length=100, help_text=_("core, or an extension slug"))
    app_version = models.CharField(_("app version"), max_length=50)
    os = models.CharField(_("operating system"), max_length=100, blank=True,
                          help_text=_("As the app reports it, e.g. Windows 11 23H2."))
    device = models.CharField(_("device"), max_length=100, blank=True,
                              help_text=_("The computer's model or kind, as the app reports it."))
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("feedback report")
        verbose_name_plural = _("feedback reports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.ticket} {self.product} {self.app_version}"
