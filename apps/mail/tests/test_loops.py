"""Mail no person wrote is never answered: attached to its ticket, or kept for review."""

import pytest
from django.test import override_settings

from apps.desk import actions
from apps.mail.models import InboundEmail, OutboundEmail
from apps.mail.selectors import review_list
from apps.mail.tests.conftest import build_email, ingest
from apps.tickets.models import Message, Ticket

Outcome = InboundEmail.Outcome

AUTOMATIC_HEADERS = [
    {"Auto-Submitted": "auto-replied"},
    {"Auto-Submitted": "auto-generated"},
    {"Precedence": "bulk"},
    {"Precedence": "junk"},
    {"Precedence": "list"},
    {"X-Autoreply": "yes"},
    {"X-Auto-Response-Suppress": "All"},
    {"List-Id": "Users <users.lists.example.org>"},
    {"Return-Path": "<>"},
]


@pytest.mark.parametrize("headers", AUTOMATIC_HEADERS, ids=lambda h: next(iter(h)) + ":" + next(iter(h.values())))
def test_unmatched_automatic_mail_goes_to_the_review_list_unanswered(mailboxes, headers):
    inbound = ingest(build_email(subject="Out of office", body="I am away until Monday.", headers=headers))

    assert inbound.outcome == Outcome.REVIEW
    assert inbound.automatic_reasons
    assert inbound.ticket is None
    assert list(review_list()) == [inbound]
    assert not OutboundEmail.objects.exists()
    assert not Ticket.objects.exists()


def test_auto_submitted_no_is_a_person(mailboxes):
    inbound = ingest(build_email(headers={"Auto-Submitted": "no"}))
    assert inbound.outcome == Outcome.NEW_TICKET


def test_an_out_of_office_to_the_receipt_is_a_note_on_its_ticket_and_does_not_reopen_it(mailboxes):
    first = ingest(build_email(message_id="<ooo1@client.example.org>"))
    actions.change_status(ticket=first.ticket, to=Ticket.Status.RESOLVED)
    receipt = OutboundEmail.objects.get(ticket=first.ticket)

    auto = ingest(build_email(subject="Automatic reply: Krasch", body="Jag är på semester.",
                              in_reply_to=receipt.message_id, headers={"Auto-Submitted": "auto-replied"}))

    assert auto.outcome == Outcome.AUTOMATIC
    assert auto.ticket == first.ticket
    note = auto.ticket_message
    assert note.direction == Message.Direction.NOTE and note.automatic
    first.ticket.refresh_from_db()
    assert first.ticket.status == Ticket.Status.RESOLVED
    assert OutboundEmail.objects.count() == 1  # no receipt for the auto-reply


def dsn(*, original_message_id: str, recipient: str = "ada@example.org") -> bytes:
    """A delivery status notification (RFC 3464) for a mail the desk sent."""
    return (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>\r\n"
        "To: support-eu@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn-1@mx.example.org>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="b1"\r\n\r\n'
        "--b1\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
        "--b1\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\nStatus: 5.1.1\r\n"
        "--b1\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"From: support-eu@example.com\r\nTo: {recipient}\r\nMessage-ID: {original_message_id}\r\n"
        "Subject: We have received your request\r\n"
        "--b1--\r\n"
    ).encode()


def test_a_bounce_of_a_desk_reply_is_attached_to_the_ticket_whose_reply_bounced(mailboxes):
    first = ingest(build_email())
    other = ingest(build_email(sender="bob@example.net", subject="Licens"))
    receipt = OutboundEmail.objects.get(ticket=first.ticket)

    bounce = ingest(dsn(original_message_id=receipt.message_id))

    assert bounce.outcome == Outcome.AUTOMATIC
    assert bounce.ticket == first.ticket != other.ticket
    assert "bounce" in bounce.automatic_reasons
    assert "5.1.1" in bounce.ticket_message.body_text
    assert OutboundEmail.objects.count() == 2  # the two receipts; nothing answers the bounce


def test_a_bounce_for_an_unknown_message_is_kept_for_review(mailboxes):
    bounce = ingest(dsn(original_message_id="<never-sent@example.com>"))
    assert bounce.outcome == Outcome.REVIEW
    assert bounce in review_list()


def test_mail_from_the_desks_own_address_is_never_answered(mailboxes):
    inbound = ingest(build_email(sender="support-us@example.com", to="support-eu@example.com"))
    assert inbound.outcome == Outcome.REVIEW
    assert "from-desk-address" in inbound.automatic_reasons


@override_settings(MAIL_RECEIPTS_PER_SENDER_PER_HOUR=2)
def test_receipts_to_one_sender_are_rate_limited(mailboxes):
    for number in range(4):
        ingest(build_email(subject=f"Problem {number}", body=f"Fråga nummer {number} om licenser."))

    assert Ticket.objects.count() == 4
    assert OutboundEmail.objects.filter(kind=OutboundEmail.Kind.RECEIPT).count() == 2
    assert Message.objects.filter(direction=Message.Direction.OUTBOUND, automatic=True).count() == 2


def test_no_receipt_goes_to_a_no_reply_address(mailboxes):
    inbound = ingest(build_email(sender="no-reply@shop.example.org"))
    assert inbound.outcome == Outcome.NEW_TICKET
    assert not OutboundEmail.objects.exists()
