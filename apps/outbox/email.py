"""Mail composed by the desk (SLA notices, chat transcripts) as outbox rows, and how any mail is judged.

The payload is the finished message, rendered in its reader's language when it was
decided, so a retry sends exactly what was meant. ``smtp_outcome`` turns an SMTP
failure into an outcome for every mail deliverer: 4xx and lost connections are tried
again, 5xx is final.
"""

import smtplib
import socket

from django.core.mail import EmailMessage, get_connection
from django.utils.translation import gettext as _

from apps.outbox import registry
from apps.outbox.services import send_later

KIND = "email"


def send_email_later(*, key: str, subject: str, body: str, to: list[str], from_email: str | None = None,
                     reply_to: list[str] | None = None, headers: dict | None = None):
    return send_later(kind=KIND, key=key, payload={
        "subject": subject, "body": body, "to": to, "from": from_email, "reply_to": reply_to or [],
        "headers": headers or {}})


def smtp_outcome(error: Exception) -> registry.Outcome:
    described = f"{type(error).__name__}: {error}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _message in error.recipients.values()]
        return registry.Retry(described) if any(400 <= code < 500 for code in codes) else registry.Dead(described)
    if isinstance(error, smtplib.SMTPResponseException):
        return registry.Dead(described) if error.smtp_code >= 500 else registry.Retry(described)
    if isinstance(error, smtplib.SMTPException | OSError | socket.timeout):
        return registry.Retry(described)
    return registry.Dead(described)        # a message that cannot be built will not build later either


def send_each(messages: list[EmailMessage]) -> list[registry.Outcome]:
    """Send over one connection, each message judged on its own; a dropped connection is opened again."""
    outcomes: list[registry.Outcome] = []
    connection = get_connection(fail_silently=False)
    try:
        for message in messages:
            if getattr(connection, "connection", True) is None:
                try:
                    connection.open()           # opened here, it stays open across send_messages calls
                except Exception as error:      # the server is away: the rest wait for the next attempt
                    return outcomes + [smtp_outcome(error)] * (len(messages) - len(outcomes))
            try:
                message.connection = connection
                message.send(fail_silently=False)
            except smtplib.SMTPServerDisconnected as error:
                outcomes.append(smtp_outcome(error))
                connection.close()
            except Exception as error:
                outcomes.append(smtp_outcome(error))
            else:
                outcomes.append(registry.Sent())
    finally:
        connection.close()
    return outcomes


def deliver_emails(items) -> list[registry.Outcome]:
    return send_each([EmailMessage(subject=item.payload["subject"], body=item.payload["body"],
                                   from_email=item.payload.get("from"), to=item.payload["to"],
                                   reply_to=item.payload.get("reply_to") or None,
                                   headers=item.payload.get("headers") or {}) for item in items])


def describe_emails(items) -> list[str]:
    return [_("Mail to %(to)s: %(subject)s") % {"to": ", ".join(item.payload["to"]), "subject": item.payload["subject"]}
            for item in items]
