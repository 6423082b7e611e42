"""The only module that talks IMAP (imapclient); the poller's logic is in ``services.poll_imap``."""

import contextlib
from dataclasses import dataclass

from django.conf import settings
from imapclient import IMAPClient

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
