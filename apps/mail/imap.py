"""The IMAP poller: a folder read by UID (the only module that talks IMAP, through imapclient) and its cursor."""

import contextlib
import logging
from dataclasses import dataclass, field

from django.conf import settings
from imapclient import IMAPClient

from apps.mail.filing import file_stored
from apps.mail.intake import MessageTooLarge, receive_email
from apps.mail.models import ImapCursor, InboundEmail

log = logging.getLogger(__name__)

BATCH = 50


@dataclass(frozen=True)
class ImapAccount:
    host: str
    port: int
    user: str
    password: str
    folder: str = "INBOX"
    processed_folder: str = ""
    ssl: bool = True

    @property
    def key(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.folder}"

    @classmethod
    def from_settings(cls) -> "ImapAccount":
        return cls(host=settings.IMAP_HOST, port=settings.IMAP_PORT, user=settings.IMAP_USER,
                   password=settings.IMAP_PASSWORD, folder=settings.IMAP_FOLDER,
                   processed_folder=settings.IMAP_PROCESSED_FOLDER, ssl=settings.IMAP_SSL)


class ImapFolder:
    """One selected folder: list new UIDs, fetch raw messages, move or flag processed ones."""

    def __init__(self, account: ImapAccount, *, timeout: float = 60):
        self.account = account
        self.client = IMAPClient(account.host, port=account.port, ssl=account.ssl, timeout=timeout)
        self.client.login(account.user, account.password)
        info = self.client.select_folder(account.folder)
        self.uidvalidity = int(info[b"UIDVALIDITY"])
        if account.processed_folder and not self.client.folder_exists(account.processed_folder):
            self.client.create_folder(account.processed_folder)

    def uids_after(self, last_uid: int) -> list[int]:
        # "n:*" always matches the highest UID, even one below n: filter it out.
        return sorted(uid for uid in self.client.search(["UID", f"{last_uid + 1}:*"]) if uid > last_uid)

    def fetch(self, uids: list[int]) -> dict[int, bytes]:
        """Raw bytes by UID; BODY.PEEK leaves \\Seen alone until the message is processed."""
        response = self.client.fetch(uids, ["BODY.PEEK[]"])
        return {uid: data.get(b"BODY[]") or b"" for uid, data in response.items()}

    def done(self, uids: list[int]) -> None:
        """Move processed messages out of the folder, or flag them \\Seen when there is nowhere to go."""
        if not uids:
            return
        if self.account.processed_folder:
            if self.client.has_capability("MOVE"):
                self.client.move(uids, self.account.processed_folder)
                return
            self.client.copy(uids, self.account.processed_folder)
            self.client.delete_messages(uids)
            self.client.expunge(uids if self.client.has_capability("UIDPLUS") else None)
            return
        self.client.add_flags(uids, [b"\\Seen"])

    def leftovers(self, last_uid: int) -> list[int]:
        """Processed messages still waiting to be moved or flagged (a crash came in between)."""
        if last_uid < 1:
            return []
        criteria = ["UID", f"1:{last_uid}"]
        if not self.account.processed_folder:
            criteria = ["UNSEEN", *criteria]
        return sorted(uid for uid in self.client.search(criteria) if uid <= last_uid)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # the connection may already be gone
            self.client.logout()


@dataclass
class PollResult:
    fetched: int = 0
    too_large: list[int] = field(default_factory=list)
    outcomes: dict[str, int] = field(default_factory=dict)


def poll_imap(*, folder, limit: int | None = None) -> PollResult:
    """Store and file the folder's new messages in UID order, resuming where the last run stopped.

    ``folder`` is an ``ImapFolder`` (or anything with its methods). Each fetch of up
    to 50 messages is stored, filed as one batch, and then acknowledged: the cursor
    advances and the messages are moved or flagged. A crash before that re-reads
    them next time, and the source key (account, UIDVALIDITY, UID) plus Message-ID
    idempotency keep them from being stored or filed twice; a crash between storing
    and filing leaves pending rows for the sweep.
    """
    account = folder.account.key
    cursor = imap_cursor(account=account, uidvalidity=folder.uidvalidity)
    folder.done(folder.leftovers(cursor.last_uid))
    result = PollResult()
    uids = folder.uids_after(cursor.last_uid)
    if limit is not None:
        uids = uids[:limit]
    for start in range(0, len(uids), BATCH):
        batch = uids[start:start + BATCH]
        raw_by_uid = folder.fetch(batch)
        stored: dict[int, int] = {}
        for uid in batch:
            raw = raw_by_uid.get(uid)
            if raw is None:
                continue
            try:
                stored[uid] = receive_email(raw=raw, source=InboundEmail.Source.IMAP,
                                            source_key=f"{account}/{folder.uidvalidity}/{uid}").pk
            except MessageTooLarge:
                # Left in the folder for a person; the cursor moves on so it does not block the rest.
                log.error("IMAP %s UID %s is over MAIL_MAX_BYTES; left in the folder", account, uid)
                result.too_large.append(uid)
        file_stored(inbound_ids=stored.values())
        for outcome in InboundEmail.objects.filter(pk__in=stored.values()).values_list("outcome", flat=True):
            result.fetched += 1
            result.outcomes[outcome] = result.outcomes.get(outcome, 0) + 1
        advance_imap_cursor(account=account, uidvalidity=folder.uidvalidity, uid=batch[-1])
        folder.done(sorted(stored))
    return result


def advance_imap_cursor(*, account: str, uidvalidity: int, uid: int) -> None:
    """Record that every UID up to ``uid`` is processed; never moves backwards."""
    ImapCursor.objects.filter(account=account, uidvalidity=uidvalidity, last_uid__lt=uid).update(last_uid=uid)


def imap_cursor(*, account: str, uidvalidity: int) -> ImapCursor:
    """The folder's cursor; a new UIDVALIDITY (the folder was rebuilt) starts again from 0.

    Starting again re-reads the folder, and Message-ID idempotency keeps that from
    duplicating tickets.
    """
    cursor, _created = ImapCursor.objects.get_or_create(account=account,
                                                        defaults={"uidvalidity": uidvalidity})
    if cursor.uidvalidity != uidvalidity:
        ImapCursor.objects.filter(pk=cursor.pk).update(uidvalidity=uidvalidity, last_uid=0)
        cursor.refresh_from_db()
    return cursor
