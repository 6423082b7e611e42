"""The IMAP poller against a real IMAP server (pymap's in-memory backend) over a local socket."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from imapclient import IMAPClient

from apps.mail import imap
from apps.mail.imap import ImapAccount, ImapFolder
from apps.mail.models import ImapCursor, InboundEmail
from apps.mail.tests.conftest import build_email, free_port
from apps.tickets.models import Ticket

PYMAP = Path(sys.executable).parent / "pymap"
pytestmark = pytest.mark.skipif(not PYMAP.exists(), reason="pymap (test dependency) is not installed")
USER, PASSWORD = "demouser", "demopass"


@pytest.fixture(scope="module")
def imap_port():
    port = free_port()
    server = subprocess.Popen([str(PYMAP), "--host", "127.0.0.1", "--port", str(port), "--no-tls", "dict",
                               "--demo-data"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            IMAPClient("127.0.0.1", port=port, ssl=False, timeout=5).logout()
            break
        except OSError:
            assert time.monotonic() < deadline, "pymap did not start"
            time.sleep(0.2)
    yield port
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def account(imap_port, request):
    """A fresh folder per test, with a processed folder beside it."""
    name = f"Support{request.node.name[-20:].replace('_', '')}{time.monotonic_ns()}"
    client = IMAPClient("127.0.0.1", port=imap_port, ssl=False)
    client.login(USER, PASSWORD)
    client.create_folder(name)
    yield ImapAccount(host="127.0.0.1", port=imap_port, user=USER, password=PASSWORD, folder=name,
                      processed_folder=f"{name}-done", ssl=False), client
    client.logout()


def deliver(client, folder, count, start=0):
    for number in range(start, start + count):
        client.append(folder, build_email(subject=f"Problem {number}", message_id=f"<imap-{number}@x>",
                                          body=f"Beskrivning av problem nummer {number}."))


def poll(account, **kwargs):
    folder = ImapFolder(account)
    try:
        return imap.poll_imap(folder=folder, **kwargs)
    finally:
        folder.close()


def test_new_mail_is_ingested_in_uid_order_and_moved_to_the_processed_folder(mailboxes, account):
    account, client = account
    deliver(client, account.folder, 3)

    result = poll(account)

    assert result.fetched == 3 and result.outcomes == {"new_ticket": 3}
    assert list(Ticket.objects.order_by("pk").values_list("subject", flat=True)) == [
        "Problem 0", "Problem 1", "Problem 2"]
    client.select_folder(account.folder)
    assert client.search("ALL") == []
    client.select_folder(account.processed_folder)
    assert len(client.search("ALL")) == 3
    assert ImapCursor.objects.get(account=account.key).last_uid > 0


def test_the_next_poll_takes_only_new_mail(mailboxes, account):
    account, client = account
    deliver(client, account.folder, 2)
    poll(account)
    deliver(client, account.folder, 2, start=2)

    result = poll(account)

    assert result.fetched == 2
    assert Ticket.objects.count() == 4


def test_a_crash_before_the_cursor_moved_reads_the_mail_again_without_duplicates(mailboxes, account):
    account, client = account
    account = ImapAccount(**{**account.__dict__, "processed_folder": ""})  # flag mode: mail stays in place
    deliver(client, account.folder, 3)
    poll(account)
    ImapCursor.objects.filter(account=account.key).update(last_uid=0)  # as if the process died mid-way

    result = poll(account)

    assert result.fetched == 3  # read again…
    assert InboundEmail.objects.count() == 3  # …but the source key finds the stored rows
    assert Ticket.objects.count() == 3
    client.select_folder(account.folder)
    assert client.search(["UNSEEN"]) == []  # flagged \Seen


def test_a_crash_between_cursor_and_move_moves_the_leftovers_next_time(mailboxes, account):
    account, client = account
    deliver(client, account.folder, 2)

    class CrashOnMove(ImapFolder):
        def done(self, uids):
            if uids:
                raise ConnectionError("connection lost")

    folder = CrashOnMove(account)
    with pytest.raises(ConnectionError):
        imap.poll_imap(folder=folder)
    folder.close()
    client.select_folder(account.folder)
    assert len(client.search("ALL")) == 2

    result = poll(account)

    assert result.fetched == 0
    assert Ticket.objects.count() == 2
    client.select_folder(account.folder)
    assert client.search("ALL") == []


def test_a_new_uidvalidity_starts_again_without_duplicating_tickets(mailboxes, account):
    account, client = account
    deliver(client, account.folder, 2)
    poll(account)
    ImapCursor.objects.filter(account=account.key).update(uidvalidity=1, last_uid=999)
    deliver(client, account.folder, 1, start=0)  # the same Message-ID again, as a rebuilt folder would hold

    result = poll(account)

    assert ImapCursor.objects.get(account=account.key).uidvalidity != 1
    assert result.outcomes == {"duplicate": 1}
    assert Ticket.objects.count() == 2
