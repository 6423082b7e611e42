"""The SMTP listener (aiosmtpd): store the raw message, then say 250; say 4xx when it cannot.

Filing is not the listener's work: each stored message asks the mail worker to file
whatever is pending (``intake.queue_filing``), which it does in batches, so a burst
of mail is filed as fast as an import. Messages that arrive together are stored in
one transaction (group commit). While more than ``MAIL_BACKLOG_LIMIT`` stored messages
wait to be filed the listener holds its answers (flow control), so a burst waits at the
senders rather than as minutes of unfiled mail here; a held sender never delays
another's store.

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
from dataclasses import dataclass

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import close_old_connections, connections, transaction

from apps.mail import intake, selectors
from apps.mail.backlog import BacklogGate
from apps.mail.group_store import GroupStore
from apps.mail.models import InboundEmail

log = logging.getLogger(__name__)

ACCEPTED = "250 2.0.0 Message accepted"
TEMPORARY_FAILURE = "451 4.3.0 Message not stored; please try again later"
TOO_LARGE = "552 5.3.4 Message exceeds the fixed maximum message size"


def _text(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value or "")


@dataclass(frozen=True)
class Arrived:
    """One message as the SMTP session handed it over."""

    raw: bytes
    mail_from: str
    rcpt_tos: list[str]


def store_messages(messages: list[Arrived]) -> list[str]:
    """Store these messages in one transaction, then queue the filing of what is pending; an answer each."""
    close_old_connections()  # drop a connection the database closed since the last batch
    answers = [TOO_LARGE if intake.too_large(message.raw) else "" for message in messages]
    fitting = [message for message, answer in zip(messages, answers) if not answer]
    stored = iter(_store(fitting) if fitting else [])
    return [answer or next(stored) for answer in answers]


def _store(messages: list[Arrived]) -> list[str]:
    try:
        with transaction.atomic():
            intake.receive_emails([(m.raw, m.mail_from, m.rcpt_tos) for m in messages],
                                  source=InboundEmail.Source.SMTP)
    except Exception:
        if len(messages) > 1:
            # One bad message (a NUL in its envelope) must not fail its neighbours: one at a time.
            log.warning("storing %d messages together failed; storing them one by one", len(messages), exc_info=True)
            return [_store([message])[0] for message in messages]
        log.exception("could not store a message from %s; answering 451", messages[0].mail_from)
        return [TEMPORARY_FAILURE]
    try:
        intake.queue_filing()   # committed, so it queues (embedded: files) at once
    except Exception:
        # Stored is what counts: the pending sweep files it later.
        log.exception("stored %d messages but could not queue their filing", len(messages))
    return [ACCEPTED] * len(messages)


def read_backlog(at_most: int) -> int:
    close_old_connections()
    return selectors.pending_count(at_most=at_most)


class DeskHandler:
    """Stores messages from one worker thread, which owns its database connection; holds 250s on the loop.

    Messages that arrive while a store is under way are stored together in the next
    (``GroupStore``). A stored message's 250 then waits at the ``BacklogGate`` while the
    filing backlog is over the limit: on the event loop, so the store thread goes on
    storing the other senders' mail meanwhile.

    The store thread is entered through asgiref's ``sync_to_async``, so what filing the message
    pushes to consoles goes back through the listener's event loop: in the embedded
    server that loop is daphne's, where the in-memory channel layer's sockets live.
    """

    def __init__(self):
        self.store_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-store")
        self.backlog_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="smtp-backlog")
        store_many = sync_to_async(store_messages, thread_sensitive=False, executor=self.store_thread)
        self.group = GroupStore(store_many, size=lambda message: len(message.raw))
        self.gate = BacklogGate(count=self._count, limit=intake.backlog_limit,
                                max_wait=lambda: settings.MAIL_BACKLOG_MAX_WAIT_SECONDS)

    async def _count(self, at_most: int) -> int:
        return await asyncio.get_running_loop().run_in_executor(self.backlog_thread, read_backlog, at_most)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content or b""
        if isinstance(raw, str):
            raw = raw.encode("utf-8", "surrogateescape")
        answer = await self.group.store(Arrived(raw=raw, mail_from=_text(envelope.mail_from),
                                                rcpt_tos=[_text(r) for r in envelope.rcpt_tos]))
        if answer == ACCEPTED:
            self.gate.stored()
            await self.gate.wait()
        return answer

    def close(self) -> None:
        """Close the workers' database connections and stop them (after the controller has stopped)."""
        for thread in (self.store_thread, self.backlog_thread):
            thread.submit(connections.close_all).result(timeout=10)
            thread.shutdown(wait=True)


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
