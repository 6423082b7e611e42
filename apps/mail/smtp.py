"""The SMTP listener (aiosmtpd): store the raw message, then say 250; say 4xx when it cannot.

Filing is not the listener's work: each stored message asks the mail worker to file
whatever is pending (``intake.queue_filing``), which it does in batches, so a burst
of mail is filed as fast as an import. While more than ``MAIL_BACKLOG_LIMIT`` stored
messages wait to be filed the listener holds its answers (flow control), so a burst
waits at the senders rather than as minutes of unfiled mail here.

A 250 is a promise that the message will not be lost, so it is sent only after
the raw bytes are committed to the database. If they cannot be (the database
is down), the answer is 451 and the sending server keeps the message and
retries later. Over ``MAIL_MAX_BYTES`` aiosmtpd itself answers 552 (it also
announces the limit in EHLO's SIZE, so most senders never try).
"""

import asyncio
import logging
import socket
from concurrent.futures import ThreadPoolExecutor

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections

from apps.mail import intake
from apps.mail.models import InboundEmail

log = logging.getLogger(__name__)

ACCEPTED = "250 2.0.0 Message accepted"
TEMPORARY_FAILURE = "451 4.3.0 Message not stored; please try again later"
TOO_LARGE = "552 5.3.4 Message exceeds the fixed maximum message size"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


def store_message(*, raw: bytes, mail_from: str, rcpt_tos: list[str]) -> str:
    """Store one message, then queue the filing of what is pending; returns the SMTP answer."""
    close_old_connections()  # drop a connection the database closed since the last message
    try:
        inbound = intake.receive_email(raw=raw, source=InboundEmail.Source.SMTP,
                                         envelope_from=mail_from, envelope_to=rcpt_tos)
    except intake.MessageTooLarge:
        return TOO_LARGE
    except Exception:
        log.exception("could not store a message from %s; answering 451", mail_from)
        return TEMPORARY_FAILURE
    try:
        intake.queue_filing()
    except Exception:
        # Stored is what counts: the pending sweep files it later.
        log.exception("stored mail %s but could not queue its filing", inbound.pk)
    try:
        intake.hold_while_backlogged()
    except Exception:
        log.warning("could not read the filing backlog; answering at once", exc_info=True)
    return ACCEPTED


class DeskHandler:
    """Stores each message from one worker thread, which owns the database connection.

    The thread is entered through asgiref's ``sync_to_async``, so what filing the message
    pushes to consoles goes back through the listener's event loop: in the embedded
    server that loop is daphne's, where the in-memory channel layer's sockets live.
    """

    def __init__(self):
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-store")
        self.store = sync_to_async(store_message, thread_sensitive=False, executor=self.executor)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        return await self.store(raw=raw, mail_from=_text(envelope.mail_from),
                                rcpt_tos=[_text(r) for r in envelope.rcpt_tos])

    def close(self) -> None:
        """Close the worker's database connection and stop it (after the controller has stopped)."""
        self.executor.submit(connections.close_all).result(timeout=10)
        self.executor.shutdown(wait=True)


class DeskSMTP(SMTP):
    """aiosmtpd's protocol, taking lines of any length within the message limit.

    aiosmtpd refuses a line over 1,000 bytes (RFC 5321's limit) with a permanent 500, so
    the sender bounces the mail; much real mail (HTML written on one line) has such lines,
    and mail servers such as Postfix take them. The size limit still applies (552).
    """

    def __init__(self, *args, **kwargs):
        self.line_length_limit = max(SMTP.line_length_limit, settings.MAIL_MAX_BYTES)
        super().__init__(*args, **kwargs)


class DeskController(Controller):
    def factory(self) -> SMTP:
        return DeskSMTP(self.handler, **self.SMTP_kwargs)


def smtp_options() -> dict:
    return {"data_size_limit": settings.MAIL_MAX_BYTES, "enable_SMTPUTF8": True}


def make_controller(*, host: str, port: int) -> Controller:
    """An aiosmtpd controller serving the desk's handler (it runs in its own thread once started)."""
    return DeskController(DeskHandler(), hostname=host, port=port, ready_timeout=10, **smtp_options())


async def serve_in_loop(*, host: str, port: int) -> asyncio.Server:
    """The same listener on the running event loop: the embedded server's, beside its sockets."""
    loop = asyncio.get_running_loop()
    handler = DeskHandler()
    # Named once here: unnamed, aiosmtpd looks up the machine's FQDN for every connection's greeting.
    name = socket.getfqdn()
    return await loop.create_server(
        lambda: DeskSMTP(handler, hostname=name, loop=loop, **smtp_options()), host=host, port=port)
