"""Owners' Jira secrets, encrypted at rest with a key derived from FIELD_ENCRYPTION_KEY.

Fernet (``cryptography``) authenticates what it encrypts: a value written with another
key fails loudly instead of decrypting to garbage. HKDF turns any string into its key.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.db import models


@cache
def _fernet(secret: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"supportdesk field encryption").derive(
        secret.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(value: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(value.encode()).decode() if value else ""


def decrypt(token: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode() if token else ""


class EncryptedTextField(models.TextField):
    """Stored encrypted, read in clear; it cannot be searched, and the admin never shows it."""

    def get_prep_value(self, value):
        return encrypt(super().get_prep_value(value) or "")

    def from_db_value(self, value, expression, connection):
        return decrypt(value or "")
