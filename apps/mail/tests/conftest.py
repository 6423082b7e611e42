"""Fixtures of the mail tests: the demo mailboxes, attachments in a temporary folder, message builders."""

import os
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path

import pytest
from django.utils import timezone


def _shared() -> Path:
    """The team's shared folder: $SUPPORTDESK_SHARED, beside the checkout, or /work/shared."""
    candidates = [os.environ.get("SUPPORTDESK_SHARED", ""), Path(__file__).resolve().parents[3] / ".." / "shared",
                  "/work/shared"]
    return next((Path(c) for c in candidates if c and Path(c, "corpus").is_dir()), Path(candidates[1]))


CORPUS = _shared() / "corpus" / "email"


@pytest.fixture(autouse=True)
def media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def mailboxes(regions, queues):
    """The policy with its four desk mailboxes (support-us@, -eu@, -my@, -jp@example.com)."""
    return regions


def build_email(*, sender="ada@example.org", to="support-eu@example.com", subject="Krasch",
                body="Hej, appen kraschar när jag öppnar en ritning.", message_id=None, in_reply_to=None,
                references=None, headers=None, charset="utf-8", html=None, attachments=()) -> bytes:
    """A message as a mail client would send it."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(timezone.now())
    message["Message-ID"] = message_id or make_msgid(domain="client.example.org")
    if in_reply_to:
        message["In-Reply-To"] = in_reply_to
    if references:
        message["References"] = references
    if body is not None:
        message.set_content(body, charset=charset)
    if html:
        if body is None:
            message.set_content(html, subtype="html")
        else:
            message.add_alternative(html, subtype="html")
    for filename, content_type, data in attachments:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    # After the content: set_content() drops every Content-* header set before it.
    for name, value in (headers or {}).items():
        message[name] = value
    return bytes(message)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Sink:
    """An aiosmtpd handler keeping what it receives: the stand-in for the outgoing SMTP relay."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def messages(self):
        from email import message_from_bytes, policy

        return [message_from_bytes(e.original_content, policy=policy.default) for e in self.envelopes]


@pytest.fixture
def smtp_sink(settings):
    """A real SMTP server on 127.0.0.1; Django's SMTP backend is pointed at it."""
    from aiosmtpd.controller import Controller

    sink = Sink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    yield sink
    controller.stop()


def ingest(raw: bytes, **kwargs):
    from apps.mail import filing
    from apps.mail.models import InboundEmail

    return filing.ingest_email(raw=raw, source=kwargs.pop("source", InboundEmail.Source.FILE), **kwargs)


@pytest.fixture
def listener(settings):
    """The desk's SMTP listener on a free port of 127.0.0.1 (messages up to 20,000 bytes); its port."""
    from apps.mail.smtp import make_controller

    settings.MAIL_MAX_BYTES = 20_000
    port = free_port()
    controller = make_controller(host="127.0.0.1", port=port)
    controller.start()
    yield port
    controller.stop()
    controller.handler.close()
