"""Recognise mail that no person wrote: auto-replies, lists, bulk mail and bounces.

Answering such mail is how two robots mail each other forever, so the desk never
sends a receipt to it (RFC 3834 and the headers Exchange, Gmail and list servers
actually send). A bounce is recognised by its DSN structure (RFC 3464) or by the
mailer-daemon addresses that send the non-standard ones.
"""

import re
from collections.abc import Mapping

BULK_PRECEDENCE = {"bulk", "junk", "list", "auto_reply"}
DAEMON_LOCALPARTS = re.compile(r"^(mailer-daemon|postmaster|mail-daemon|mailerdaemon|bounces?|"
                               r"no-?reply|do-?not-?reply|noreply-dmarc-support)([+-].*)?$", re.I)
BOUNCE_SUBJECT = re.compile(
    r"(undeliver|delivery (status|failure|has failed|notification)|returned mail|mail delivery|"
    r"failure notice|non-?delivery|could not be delivered|delivery problem|"
    r"unzustellbar|onbestelbaar|olevererbart|no se puede entregar|配信|送信できません)", re.I)


def automatic_reasons(*, headers: Mapping[str, list[str]], content_type: str, part_types: set[str],
                      sender: str, subject: str) -> list[str]:
    """Why this message is not from a person ([] when it is).

    ``headers`` maps lower-case names to decoded values.
    """
    reasons = []

    def first(name: str) -> str:
        values = headers.get(name) or [""]
        return values[0].strip().lower()

    auto_submitted = first("auto-submitted")
    if auto_submitted and auto_submitted != "no":
        reasons.append(f"auto-submitted:{auto_submitted.split(';')[0]}")
    precedence = first("precedence")
    if precedence in BULK_PRECEDENCE:
        reasons.append(f"precedence:{precedence}")
    for name in ("x-autoreply", "x-autorespond", "x-auto-response-suppress", "list-id"):
        if name in headers:
            reasons.append(name)
    if "return-path" in headers and first("return-path").strip(" <>") == "":
        reasons.append("empty-return-path")
    if is_bounce(content_type=content_type, part_types=part_types, sender=sender, subject=subject):
        reasons.append("bounce")
    return reasons


def is_bounce(*, content_type: str, part_types: set[str], sender: str, subject: str) -> bool:
    if content_type == "multipart/report" or "message/delivery-status" in part_types:
        return True
    local = sender.rsplit("@", 1)[0] if sender else ""
    daemon = bool(local) and bool(re.match(r"^(mailer-daemon|postmaster|mail-daemon)", local, re.I))
    return daemon and bool(BOUNCE_SUBJECT.search(subject or "")) or (
        daemon and ("message/rfc822" in part_types or "text/rfc822-headers" in part_types))


def is_robot_address(address: str) -> bool:
    """An address no receipt should go to (mailer-daemon, no-reply)."""
    local = address.rsplit("@", 1)[0] if "@" in address else address
    return bool(DAEMON_LOCALPARTS.match(local))
