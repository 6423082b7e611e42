"""Intake paths and their shared rules: idempotency, attachments, language and region, unparsed mail."""

import hashlib
import io
import mailbox

import pytest
from django.conf import settings
from django.core.management import call_command

from apps.mail import filing
from apps.mail.models import InboundEmail
from apps.mail.tests.conftest import build_email, ingest
from apps.tickets.models import Attachment, Message, Ticket
from conftest import run_worker

Outcome = InboundEmail.Outcome


# --- idempotency and nothing lost ---------------------------------------------

def test_the_same_message_id_delivered_twice_makes_one_message(mailboxes):
    raw = build_email(message_id="<dup@client.example.org>")
    first = ingest(raw, source=InboundEmail.Source.SMTP)
    second = ingest(raw.replace(b"From:", b"Received: by relay2\nFrom:"), source=InboundEmail.Source.IMAP)

    assert second.outcome == Outcome.DUPLICATE
    assert second.ticket == first.ticket and second.ticket_message == first.ticket_message
    assert Message.objects.filter(direction=Message.Direction.INBOUND).count() == 1
    assert InboundEmail.objects.count() == 2  # both raw copies are kept


def test_identical_bytes_without_a_message_id_are_one_ticket(mailboxes):
    raw = b"From: a@example.org\r\nTo: support-us@example.com\r\nSubject: hi\r\n\r\nThe app crashes on start."
    assert ingest(raw).ticket == ingest(raw).ticket
    assert Ticket.objects.count() == 1


def test_every_raw_message_is_stored_byte_for_byte(mailboxes):
    raw = build_email()
    inbound = ingest(raw)
    assert bytes(inbound.raw) == raw
    assert inbound.sha256 == hashlib.sha256(raw).hexdigest()
    assert inbound.full_text.startswith("Hej, appen kraschar")


def test_an_unparseable_message_becomes_a_flagged_ticket_with_the_raw_message_attached(mailboxes):
    raw = b"\x00\x01\x02 this is not an email at all \xff\xfe"
    inbound = ingest(raw, envelope_to=["support-jp@example.com"])

    assert inbound.outcome == Outcome.UNPARSED
    ticket = inbound.ticket
    assert ticket.unparsed
    assert ticket.region.slug == "japan" and ticket.language == "ja"
    attachment = ticket.messages.get().attachments.get()
    assert attachment.content_type == "message/rfc822" and attachment.file.read() == raw


def test_a_bug_while_filing_keeps_the_message_raw_on_a_flagged_ticket(mailboxes, monkeypatch):
    real = filing.open_tickets

    def broken(requests):
        if not all(request.unparsed for request in requests):
            raise RuntimeError("simulated bug")
        return real(requests)

    monkeypatch.setattr(filing, "open_tickets", broken)
    inbound = ingest(build_email())

    assert inbound.outcome == Outcome.UNPARSED
    assert "simulated bug" in inbound.error
    assert inbound.ticket.unparsed


# --- attachments --------------------------------------------------------------

def test_attachments_are_stored_with_their_sha256_and_shared_on_disk(mailboxes):
    log = b"2026-11-27 ERROR crash\n" * 10
    first = ingest(build_email(attachments=[("app.log", "text/plain", log), ("shot.png", "image/png", b"\x89PNG..")]))
    second = ingest(build_email(sender="bob@example.net", subject="other",
                                attachments=[("same.log", "text/plain", log)]))

    stored = {a.filename: a for a in first.ticket_message.attachments.all()}
    assert set(stored) == {"app.log", "shot.png"}
    assert stored["app.log"].sha256 == hashlib.sha256(log).hexdigest()
    assert stored["app.log"].size == len(log)
    again = second.ticket_message.attachments.get()
    assert again.file.name == stored["app.log"].file.name  # content-addressed: one file on disk
    assert Attachment.objects.count() == 3


# --- language and region --------------------------------------------------------

@pytest.mark.parametrize(("to", "headers", "body", "language", "region"), [
    ("support-eu@example.com", {"Content-Language": "es-ES"}, "Hello, short.", "es", "europe"),
    ("support-us@example.com", {}, "Die Anwendung stürzt beim Öffnen der Zeichnung ab.", "de", "us"),
    ("support-us@example.com", {}, "应用程序在打开图纸时崩溃，请帮忙。", "zh-hans", "us"),
    ("support-jp@example.com", {}, "ok", "ja", "japan"),  # too short to tell: the mailbox's language
    ("support-eu@example.com", {}, "ok", "sv", "europe"),
    ("someone-else@example.com", {}, "ok", "en", "us"),  # no desk mailbox: the desk default
])
def test_language_comes_from_content_language_then_detection_then_the_mailbox(
        mailboxes, queues, to, headers, body, language, region):
    inbound = ingest(build_email(to=to, headers=headers, body=body, subject="?"))
    ticket = inbound.ticket
    assert ticket.language == language
    assert ticket.region.slug == region
    assert ticket.queue == queues[(language, "async")]


# --- quoted history ---------------------------------------------------------------

def test_quoted_history_and_signature_are_stripped_from_the_message_but_kept_in_full(mailboxes):
    body = ("Det fungerar nu, tack!\n\n-- \nAda Lind\nRitbyrån AB\n\n"
            "Den 3 mars 2026 kl. 10:12 skrev Support <support-eu@example.com>:\n> Prova att starta om.\n")
    first = ingest(build_email(message_id="<q-1@client.example.org>"))
    reply = ingest(build_email(subject="SV: Krasch", body=body, in_reply_to="<q-1@client.example.org>"))

    assert reply.ticket == first.ticket
    assert reply.ticket_message.body_text == "Det fungerar nu, tack!"
    assert "Prova att starta om" in reply.full_text


# --- the command ------------------------------------------------------------------

def test_ingest_email_reads_eml_mbox_and_maildir(mailboxes, tmp_path, capsys):
    eml = tmp_path / "one.eml"
    eml.write_bytes(build_email(subject="from eml", message_id="<c1@x>"))
    box = mailbox.mbox(tmp_path / "box.mbox")
    for number in range(3):
        box.add(build_email(subject=f"mbox {number}", message_id=f"<m{number}@x>", body=f"mbox body {number}"))
    box.flush()
    maildir = mailbox.Maildir(tmp_path / "Maildir")
    maildir.add(build_email(subject="from maildir", message_id="<d1@x>"))
    out = io.StringIO()

    call_command("ingest_email", str(eml), str(tmp_path / "box.mbox"), str(tmp_path / "Maildir"), stdout=out)

    assert set(Ticket.objects.values_list("subject", flat=True)) == {"from eml", "mbox 0", "mbox 1", "mbox 2",
                                                                      "from maildir"}
    assert "5 messages" in out.getvalue()
    assert "5/5" in capsys.readouterr().err  # the progress bar


def test_ingest_email_reads_stdin(mailboxes, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(build_email(subject="stdin"))))
    out = io.StringIO()
    call_command("ingest_email", "-", stdout=out)
    assert Ticket.objects.get().subject == "stdin"
    assert "Opened a ticket SD-" in out.getvalue()


# --- the webhook ---------------------------------------------------------------------

@pytest.fixture
def secret(settings):
    settings.MAIL_INBOUND_SECRET = "s3cret"
    return "s3cret"


def post_raw(client, raw: bytes, **headers):
    return client.post("/email/inbound", data=raw, content_type="message/rfc822", **headers)


@pytest.mark.django_db(transaction=True)   # the filing job is queued on commit
def test_the_webhook_stores_raw_mime_sent_with_the_shared_secret_and_the_worker_files_it(
        mailboxes, client, secret, redis_queues):
    response = post_raw(client, build_email(), HTTP_X_MAIL_SECRET=secret)
    if settings.REDIS_URL:  # stored and queued: the mail worker files it with whatever else is pending
        assert response.status_code == 202
        assert response.json() == {"id": InboundEmail.objects.get().pk, "outcome": "pending", "ticket": None}
        run_worker("mail")
    else:  # embedded: the filing job ran in process before the answer
        assert response.status_code == 200
        assert response.json()["outcome"] == "new_ticket" and response.json()["ticket"].startswith("SD-")
    inbound = InboundEmail.objects.get()
    assert inbound.source == InboundEmail.Source.HTTP and inbound.outcome == Outcome.NEW_TICKET


def test_the_webhook_accepts_the_secret_as_a_bearer_token(mailboxes, client, secret, redis_queues):
    assert post_raw(client, build_email(), HTTP_AUTHORIZATION=f"Bearer {secret}").status_code in (200, 202)


@pytest.mark.parametrize("headers", [{}, {"HTTP_X_MAIL_SECRET": "wrong"}, {"HTTP_AUTHORIZATION": "Bearer nope"}])
def test_the_webhook_refuses_a_missing_or_wrong_secret(mailboxes, client, secret, headers):
    assert post_raw(client, build_email(), **headers).status_code == 403
    assert not InboundEmail.objects.exists()


def test_the_webhook_is_off_without_a_secret(mailboxes, client, settings):
    settings.MAIL_INBOUND_SECRET = ""
    assert post_raw(client, build_email(), HTTP_X_MAIL_SECRET="").status_code == 404


def test_the_webhook_refuses_a_message_over_the_limit_with_413(mailboxes, client, secret, settings):
    settings.MAIL_MAX_BYTES = 1000
    assert post_raw(client, build_email(body="x" * 5000), HTTP_X_MAIL_SECRET=secret).status_code == 413
    assert not InboundEmail.objects.exists()


def test_the_webhook_takes_messages_larger_than_djangos_upload_limit(mailboxes, client, secret, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    raw = build_email(attachments=[("big.bin", "application/octet-stream", b"\x00" * 50_000)])
    assert post_raw(client, raw, HTTP_X_MAIL_SECRET=secret).status_code in (200, 202)
