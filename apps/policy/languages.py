"""The desk's six languages and which channel may serve which of them."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    SWEDISH = "sv", _("Swedish")
    SPANISH = "es", _("Spanish")
    GERMAN = "de", _("German")
    CHINESE = "zh-hans", _("Simplified Chinese")
    JAPANESE = "ja", _("Japanese")


class Channel(models.TextChoices):
    CHAT = "chat", _("Chat")
    VOICE = "voice", _("Phone")
    EMAIL = "email", _("Email")
    FEEDBACK = "feedback", _("Feedback report")


def normalise_language(code: str) -> str:
    """Map browser/mail tags (``zh-CN``, ``sv_SE``, ``EN``) onto one of the six codes.

    Raises ``ValueError`` for anything the desk does not serve, so callers can give
    a clear error instead of silently filing a ticket in a language nobody reads.
    """
    tag = (code or "").strip().lower().replace("_", "-")
    if tag in Language.values:
        return tag
    primary = tag.split("-", 1)[0]
    if primary == "zh":
        # Traditional-script tags are still read by the Chinese desk.
        return Language.CHINESE
    if primary in Language.values:
        return primary
    raise ValueError(f"unsupported language {code!r}; expected one of {', '.join(Language.values)}")
