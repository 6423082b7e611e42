"""Subjects: the ticket reference tag, and the subject a thread is recognised by.

Mail clients prefix replies in the user's language ("Re:", "SV:", "AW:", "RV:",
"回复:", "答复:", "Réf."), forward them ("Fwd:", "VS:", "WG:", "转发:"), and list
servers add "[list]" tags; none of that makes it another conversation.
"""

import re
import unicodedata

from apps.tickets.models import REFERENCE_PREFIX

REFERENCE_TAG = re.compile(r"\[\s*" + re.escape(REFERENCE_PREFIX.rstrip("-")) + r"-?(\d{1,12})\s*\]", re.I)
_PREFIXES = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|sv|vs|wg|rv|enc|tr|antw|odp|ynt|vb|r|rif|res|ref|réf|"
    r"回复|回覆|答复|答覆|转发|轉寄|返信|転送|件名)\s*(?:\[\d+\]|\(\d+\))?\s*[:：]\s*|\[[^\]]{1,40}\]\s*)+",
    re.I)
_SPACES = re.compile(r"\s+")


def reference_in_subject(subject: str) -> str | None:
    """``SD-000123`` when the subject carries the tag ``[SD-000123]``."""
    match = REFERENCE_TAG.search(subject or "")
    if not match:
        return None
    return f"{REFERENCE_PREFIX}{int(match.group(1)):06d}"


def references_in_subject(subject: str) -> list[str]:
    """Every tagged reference in the subject, first first (a reply may quote another ticket's tag too)."""
    found = [f"{REFERENCE_PREFIX}{int(number):06d}" for number in REFERENCE_TAG.findall(subject or "")]
    return list(dict.fromkeys(found))[:10]


def normalise_subject(subject: str) -> str:
    """The subject without reply/forward prefixes, tags and case; "" for nothing left."""
    text = unicodedata.normalize("NFKC", subject or "")
    text = REFERENCE_TAG.sub(" ", text)
    previous = None
    while previous != text:
        previous = text
        text = _PREFIXES.sub("", text)
    return _SPACES.sub(" ", text).strip().casefold()[:300]


def tagged(subject: str, reference: str) -> str:
    """The subject with the ticket's tag, added once."""
    subject = (subject or "").strip()
    if reference_in_subject(subject) == reference:
        return subject
    if re.search(rf"\b{re.escape(reference)}\b", subject):
        return re.sub(rf"\b{re.escape(reference)}\b", f"[{reference}]", subject, count=1)
    return f"{subject} [{reference}]".strip()
