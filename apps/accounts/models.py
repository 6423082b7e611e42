"""Agents' profiles and staff API tokens."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class AgentProfile(models.Model):
    """What an agent can take (languages, channels), who they are to customers, and how the console shows."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="agent_profile", verbose_name=_("user"))
    languages = models.JSONField(_("languages"), default=list, blank=True,
                                 help_text=_("Language codes this agent serves."))
    channels = models.JSONField(_("channels"), default=list, blank=True,
                                help_text=_("Channels this agent may take."))
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    phone_number = models.CharField(
        _("phone number"), max_length=32, blank=True,
        help_text=_("E.164 number that accepted calls ring; empty: the browser softphone in the console."))
    display_name = models.CharField(
        _("display name"), max_length=100, blank=True,
        help_text=_("How customers and colleagues see you; empty: your full name, else your username."))
    signature = models.TextField(_("signature"), blank=True, max_length=1000,
                                 help_text=_("Added below your email replies."))
    language = models.CharField(
        _("language"), max_length=10, blank=True, choices=settings.LANGUAGES,
        help_text=_("The console's language; empty: your browser's."))
    notifications = models.BooleanField(
        _("sound and browser notifications"), default=True,
        help_text=_("A sound and a browser notification for new offers and customer replies."))

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.user)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


class ApiToken(models.Model):
    """A bearer token for the REST API; only its hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="api_tokens", verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100, blank=True)
    key_hash = models.CharField(_("key hash"), max_length=64, unique=True, editable=False)
    prefix = models.CharField(_("prefix"), max_length=8, editable=False)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user})"

    @classmethod
    def new_raw_key(cls) -> str:
        return "sd_" + secrets.token_urlsafe(32)
