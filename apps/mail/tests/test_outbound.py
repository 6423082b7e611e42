"""Receipts and agent replies go out by SMTP (to an aiosmtpd sink) and the user's answer threads back."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import translation

from apps.desk import actions
from apps.mail.models import InboundEmail, OutboundEmail
from apps.mail.outbound import receipt_text, send_reply
from apps.mail.tests.conftest import build_email, ingest
from apps.sla.models import SlaTarget
from apps.tickets import services as tickets
from apps.tickets.models import Message, ReceiptTemplate, Ticket
from conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_receipt_is_sent_by_the_mail_worker_with_the_reference_and_never_stops_a_clock(
        mailboxes, smtp_sink, redis_queues):
    inbound = ingest(build_email(message_id="<rcpt-1@client.example.org>"))
    ticket = inbound.ticket

    run_worker("mail")

    [sent] = smtp_sink.messages()
    assert sent["To"] == "ada@example.org"
    assert sent["From"] == "support-eu@example.com"  # the address the user wrote to
    assert f"[{ticket.reference}]" in sent["Subject"]
    assert ticket.reference in sent.get_content()
    assert sent["In-Reply-To"] == "<rcpt-1@client.example.org>"
    assert sent["Auto-Submitted"] == "auto-replied"
    receipt = OutboundEmail.objects.get(ticket=ticket)
    assert receipt.status == OutboundEmail.Status.SENT and sent["Message-ID"] == receipt.message_id
    assert receipt.ticket_message.automatic
    assert not SlaTarget.objects.filter(ticket=ticket, met_at__isnull=False).exists()
    ticket.refresh_from_db()
    assert ticket.first_response_at is None and ticket.acknowledged_at is None


def test_the_receipt_uses_the_admins_template_in_the_tickets_language(mailboxes, smtp_sink, redis_queues):
    ReceiptTemplate.objects.create(
        channel="email", subject_en="Received {reference}", body_en="Thanks {name}",
        subject_ja="受付 {reference}", body_ja="{name} 様、お問い合わせありがとうございます。")
    inbound = ingest(build_email(sender="Taro <taro@example.jp>", to="support-jp@example.com",
                                 subject="アプリが起動しません", body="アプリが起動しません。確認をお願いします。"))
    ticket = inbound.ticket
    assert ticket.language == "ja" and ticket.region.slug == "japan"

    run_worker("mail")

    [sent] = smtp_sink.messages()
    assert sent["Subject"] == f"受付 [{ticket.reference}]"
    assert sent.get_content().strip() == "Taro 様、お問い合わせありがとうございます。"


def test_the_default_receipt_is_rendered_in_the_tickets_language(mailboxes, smtp_sink, redis_queues):
    inbound = ingest(build_email(headers={"Content-Language": "de"}, subject="Absturz",
                                 body="Die Anwendung stürzt beim Öffnen ab."))
    run_worker("mail")
    [sent] = smtp_sink.messages()
    with translation.override("de"):
        expected = receipt_text(inbound.ticket)[0]
    assert inbound.ticket.language == "de"
    assert sent["Subject"] == expected


def test_an_agents_reply_goes_out_threaded_and_the_users_answer_comes_back_to_the_ticket(
        mailboxes, agent, smtp_sink, redis_queues):
    first = ingest(build_email(message_id="<thr-1@client.example.org>", subject="Krasch vid export"))
    ticket = first.ticket
    message = actions.add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, author_user=agent,
                                  body="Hej Ada, prova att uppdatera till 4.2.")
    outbound = send_reply(ticket=ticket, message=message)
    assert send_reply(ticket=ticket, message=message) == outbound  # a second call sends nothing more

    run_worker("mail")

    reply = next(m for m in smtp_sink.messages() if m["Message-ID"] == outbound.message_id)
    assert reply["Subject"] == f"Re: Krasch vid export [{ticket.reference}]"
    assert reply["In-Reply-To"] == "<thr-1@client.example.org>"
    assert "<thr-1@client.example.org>" in reply["References"]
    assert "prova att uppdatera" in reply.get_content()
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None  # the person's reply stopped the clock, not the receipt

    answer = ingest(build_email(subject=str(reply["Subject"]).replace("Re:", "SV: Re:"), body="Tack, det hjälpte!",
                                in_reply_to=outbound.message_id,
                                references=f"<thr-1@client.example.org> {outbound.message_id}"))
    assert answer.outcome == InboundEmail.Outcome.REPLY
    assert answer.ticket == ticket
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECEIPT).count() == 1  # no receipt for a reply


def test_a_send_that_fails_waits_and_goes_out_once_the_relay_is_back(mailboxes, agent, settings, monkeypatch):
    from datetime import timedelta

    import time_machine
    from aiosmtpd.controller import Controller
    from django.utils import timezone

    from apps.mail.tests.conftest import Sink, free_port
    from apps.outbox import services as outbox
    from apps.outbox.models import OutboxItem

    # The delivery job is held back (embedded, it would run at the commit): this test delivers itself.
    monkeypatch.setattr(outbox, "enqueue_on_commit", lambda *args: None)
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", port, 2
    settings.EMAIL_USE_TLS, settings.EMAIL_HOST_USER, settings.EMAIL_HOST_PASSWORD = False, "", ""
    inbound = ingest(build_email())             # nobody listens on the port: the receipt cannot go
    outbound = OutboundEmail.objects.get(ticket=inbound.ticket)
    item = OutboxItem.objects.get(kind="mail.outbound", key=str(outbound.pk))
    assert outbox.deliver(item_ids=[item.pk]) == {"retry": 1}
    outbound.refresh_from_db()
    item.refresh_from_db()
    assert outbound.status == OutboundEmail.Status.QUEUED and outbound.attempts == 1 and outbound.last_error
    assert item.status == OutboxItem.Status.PENDING and item.next_attempt_at > timezone.now()
    assert outbox.deliver_due() == {}                 # not due yet

    sink = Sink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        with time_machine.travel(timezone.now() + timedelta(seconds=settings.OUTBOX_RETRY_BASE_SECONDS + 1)):
            assert outbox.deliver_due() == {"sent": 1}
            assert outbox.deliver_due() == {}
    finally:
        controller.stop()
    [sent] = sink.messages()
    assert sent["Message-ID"] == outbound.message_id
    outbound.refresh_from_db()
    assert outbound.status == OutboundEmail.Status.SENT and outbound.attempts == 2


def test_only_the_tickets_outbound_messages_can_be_sent(mailboxes):
    inbound = ingest(build_email())
    with pytest.raises(tickets.TicketError):
        send_reply(ticket=inbound.ticket, message=inbound.ticket_message)


def test_files_an_agent_attaches_in_the_console_go_out_with_the_reply(mailboxes, agent, client, smtp_sink,
                                                                      redis_queues, settings):
    inbound = ingest(build_email(body="Hur exporterar jag?", attachments=[("skarm.png", "image/png", b"\x89PNG user")]))
    ticket = inbound.ticket
    agent.is_staff = True
    agent.save()
    client.force_login(agent)
    url = f"/console/tickets/{ticket.reference}/reply/"
    response = client.post(url, {"body": "Se guiden.", "files": [
        SimpleUploadedFile("guide.pdf", b"%PDF-1.7 guide", "application/pdf"),
        SimpleUploadedFile("steg.txt", "1. Arkiv → Exportera".encode(), "text/plain")]})
    assert response.status_code == 302

    run_worker("mail")

    receipt, reply = sorted(smtp_sink.messages(), key=lambda m: "guide" in m.as_string())
    assert not list(receipt.iter_attachments())       # the user's own file is not sent back
    files = [(part.get_filename(), part.get_content_type(), part.get_payload(decode=True))
             for part in reply.iter_attachments()]
    assert files == [("guide.pdf", "application/pdf", b"%PDF-1.7 guide"),
                     ("steg.txt", "text/plain", "1. Arkiv → Exportera".encode())]
    assert reply.get_body(("plain",)).get_content().startswith("Se guiden.")

    settings.REPLY_MAX_ATTACHMENT_BYTES = 10
    refused = client.post(url, {"body": "För stor", "files": [SimpleUploadedFile("big.bin", b"x" * 11)]}, follow=True)
    assert "Attached files may be at most 10\xa0bytes together." in refused.content.decode()
    assert not Message.objects.filter(ticket=ticket, body_text="För stor").exists()
    empty = client.post(url, {"body": "  "}, follow=True)
    assert "Write a reply or attach a file." in empty.content.decode()


def test_a_ticket_whose_subject_holds_a_line_break_can_still_be_answered_by_mail(
        mailboxes, agent, smtp_sink, redis_queues):
    # A chat ticket opened before visitors' names were cleaned: "Live chat with <name>" kept the line break.
    ticket = ingest(build_email(message_id="<nl-1@client.example.org>")).ticket
    Ticket.objects.filter(pk=ticket.pk).update(subject="Live chat with Eve\nBcc: all@example.com")
    ticket.refresh_from_db()
    message = actions.add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, author_user=agent,
                                  body="Hej Eve.")
    outbound = send_reply(ticket=ticket, message=message)
    run_worker("mail")

    outbound.refresh_from_db()
    assert outbound.status == OutboundEmail.Status.SENT
    sent = smtp_sink.messages()[-1]
    assert sent["Message-ID"] == outbound.message_id
    assert sent["Subject"] == f"Re: Live chat with Eve Bcc: all@example.com [{ticket.reference}]"

    # A mail that failed on such a subject before the fix goes out when retried.
    from apps.outbox.models import OutboxItem
    from apps.outbox.services import deliver_due, retry

    OutboundEmail.objects.filter(pk=outbound.pk).update(
        status=OutboundEmail.Status.FAILED, subject=f"Re: Eve\r\nBcc: all@example.com [{ticket.reference}]")
    OutboxItem.objects.filter(kind="mail.outbound", key=str(outbound.pk)).update(status=OutboxItem.Status.DEAD)
    assert retry(item_id=OutboxItem.objects.get(kind="mail.outbound", key=str(outbound.pk)).pk)
    deliver_due()
    retried = smtp_sink.messages()[-1]
    assert retried["Subject"] == f"Re: Eve Bcc: all@example.com [{ticket.reference}]"
    assert retried["Bcc"] is None
    assert {address for envelope in smtp_sink.envelopes for address in envelope.rcpt_tos} == {"ada@example.org"}
