"""The thread token: what proves that a mail answers mail the desk sent about one ticket.

Ticket references are sequential, so a ``[SD-000123]`` tag proves nothing. Every
mail the desk sends therefore carries ``t-<reference>-<mac>`` (an HMAC of the
reference under ``SECRET_KEY``) in its Reply-To plus-address
(``support-eu+t-sd-000123-…@example.com``) and in its Message-ID. A reply that
carries it, in a recipient address or in the ids it answers, continues that
ticket whoever sends it; nothing is stored, so mail queued before a restart and
mail sent by any process verifies the same. Keys in ``SECRET_KEY_FALLBACKS``
still verify after a key rotation.
"""

import base64
import hmac
import re
import secrets
from collections.abc import Iterable
from email.utils import formataddr, parseaddr

from django.conf import settings
from django.utils.crypto import salted_hmac

from apps.tickets.models import REFERENCE_PREFIX

_SALT = "apps.mail.tokens.thread"
_MAC_CHARS = 16  # base32, 80 bits: far beyond guessing by sending mail; short enough to keep headers unfolded
_PREFIX = re.escape(REFERENCE_PREFIX.rstrip("-").lower())
# Mail servers may change the case of a local part, so the token is read case-insensitively.
TOKEN = re.compile(rf"\bt-({_PREFIX}-\d{{1,12}})-([a-z2-7]{{{_MAC_CHARS}}})\b", re.I)
_PLUS_TOKEN = re.compile(rf"\+t-{_PREFIX}-\d{{1,12}}-[a-z2-7]{{{_MAC_CHARS}}}@", re.I)


def _mac(reference: str, key: str) -> str:
    digest = salted_hmac(_SALT, reference.upper(), secret=key, algorithm="sha256").digest()
    return base64.b32encode(digest).decode("ascii")[:_MAC_CHARS].lower()


def thread_token(reference: str) -> str:
    """``t-sd-000123-<mac>``: the ticket's token, the same every time."""
    return f"t-{reference.lower()}-{_mac(reference, settings.SECRET_KEY)}"


def reference_in(values: Iterable[str]) -> str | None:
    """The reference of the first genuine token in these addresses or Message-IDs; a forged one is ignored."""
    keys = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    for value in values:
        for match in TOKEN.finditer(value or ""):
            reference, mac = match.group(1).upper(), match.group(2).lower()
            if any(hmac.compare_digest(mac, _mac(reference, key)) for key in keys):
                return reference
    return None


def reply_address(mailbox: str, reference: str) -> str:
    """The desk mailbox with the ticket's token as plus-address: ``support-eu+t-sd-000123-…@example.com``."""
    name, address = parseaddr(mailbox)
    local, at, domain = address.rpartition("@")
    if not at:
        return mailbox
    return formataddr((name, f"{local}+{thread_token(reference)}@{domain}"))


def message_id(reference: str) -> str:
    """A new Message-ID for mail about the ticket, unique and carrying its token."""
    domain = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "supportdesk.invalid"
    return f"<{thread_token(reference)}.{secrets.token_hex(6)}@{domain}>"


def without_token(address: str) -> str:
    """The desk address a token plus-address was made from (other addresses unchanged)."""
    return _PLUS_TOKEN.sub("@", address or "")
