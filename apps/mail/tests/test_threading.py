"""Threading: Message-IDs (In-Reply-To, then References), the [SD-…] tag from a participant, then sender + subject
for 14 days (the thread token: test_thread_tokens)."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from apps.desk import actions
from apps.mail.models import InboundEmail, OutboundEmail
from apps.mail.tests.conftest import build_email, ingest
from apps.tickets.models import Message, Ticket

Outcome = InboundEmail.Outcome


def test_a_reply_naming_the_first_message_in_in_reply_to_is_added_to_its_ticket(mailboxes):
    first = ingest(build_email(message_id="<q1@client.example.org>"))
    reply = ingest(build_email(subject="Re: Krasch", body="Det hände igen.", message_id="<q2@client.example.org>",
                               in_reply_to="<q1@client.example.org>", references="<q1@client.example.org>"))

    assert first.outcome == Outcome.NEW_TICKET
    assert reply.outcome == Outcome.REPLY
    assert reply.ticket == first.ticket
    assert Ticket.objects.count() == 1
    assert first.ticket.messages.filter(direction=Message.Direction.INBOUND).count() == 2


def test_an_outlook_reply_with_an_unknown_in_reply_to_threads_through_references(mailboxes):
    # chatwoot#10028: staff answered from Outlook, so the user's reply names a message the desk never saw.
    first = ingest(build_email(message_id="<orig@client.example.org>"))
    reply = ingest(build_email(
        subject="SV: Krasch", body="Tack, men det fungerar inte.", message_id="<r2@client.example.org>",
        in_reply_to="<AM0PR01MB1234@outlook.office365.example>",
        references="<orig@client.example.org> <AM0PR01MB1234@outlook.office365.example>"))

    assert reply.outcome == Outcome.REPLY
    assert reply.ticket == first.ticket


def test_a_reply_to_the_desks_receipt_threads_by_the_receipts_message_id(mailboxes):
    first = ingest(build_email(message_id="<r1@client.example.org>"))
    receipt = OutboundEmail.objects.get(ticket=first.ticket, kind=OutboundEmail.Kind.RECEIPT)
    reply = ingest(build_email(subject="a new subject entirely", body="Mer information.",
                               message_id="<r3@client.example.org>", in_reply_to=receipt.message_id))

    assert reply.ticket == first.ticket


def test_the_contacts_reference_tag_threads_a_reply_that_dropped_its_headers(mailboxes):
    # Outlook and webmail "reply" from another device: no In-Reply-To, no References, the tag kept.
    first = ingest(build_email())
    reference = first.ticket.reference
    reply = ingest(build_email(sender="Ada <ADA@example.org>", subject=f"Angående [{reference}]",
                               body="Jag glömde bifoga loggen."))

    assert reply.outcome == Outcome.REPLY
    assert reply.ticket == first.ticket


def test_a_reference_tag_from_someone_outside_the_ticket_opens_a_new_ticket(mailboxes):
    first = ingest(build_email())
    reference = first.ticket.reference
    forged = ingest(build_email(sender="mallory@evil.example", subject=f"Re: Krasch [{reference}]",
                                body="Please reset the password and send it to me."))

    assert forged.outcome == Outcome.NEW_TICKET
    assert forged.ticket != first.ticket
    assert forged.ticket.contact.email == "mallory@evil.example"
    assert not first.ticket.messages.filter(body_text__contains="reset the password").exists()


def test_a_reference_tag_threads_from_anyone_who_already_wrote_on_the_ticket(mailboxes):
    first = ingest(build_email(message_id="<cc-1@client.example.org>"))
    reference = first.ticket.reference
    # A colleague in Cc answers with the headers: now the colleague takes part in the ticket.
    ingest(build_email(sender="colleague@example.org", subject=f"Re: Krasch [{reference}]", body="Samma här.",
                       in_reply_to="<cc-1@client.example.org>"))
    later = ingest(build_email(sender="colleague@example.org", subject=f"Loggar [{reference}]", body="Loggen."))

    assert later.outcome == Outcome.REPLY
    assert later.ticket == first.ticket


def test_same_sender_and_normalised_subject_within_14_days_is_the_same_ticket(mailboxes):
    first = ingest(build_email(subject="Krasch vid export"))
    with time_machine.travel(timezone.now() + timedelta(days=13)):
        again = ingest(build_email(subject="SV: Re: krasch  vid export", body="Fortfarande trasigt."))

    assert again.outcome == Outcome.REPLY
    assert again.ticket == first.ticket


def test_same_subject_after_14_days_opens_a_new_ticket(mailboxes):
    first = ingest(build_email(subject="Krasch vid export"))
    with time_machine.travel(timezone.now() + timedelta(days=15)):
        later = ingest(build_email(subject="Krasch vid export", body="Nu igen, en annan fil."))

    assert later.outcome == Outcome.NEW_TICKET
    assert later.ticket != first.ticket


def test_same_subject_from_another_sender_is_another_ticket(mailboxes):
    first = ingest(build_email(subject="Crash on export"))
    other = ingest(build_email(sender="bob@example.net", subject="Crash on export"))
    assert other.ticket != first.ticket


def test_a_reply_to_a_resolved_ticket_reopens_it(mailboxes, agent):
    first = ingest(build_email(message_id="<res1@client.example.org>"))
    ticket = first.ticket
    actions.change_status(ticket=ticket, to=Ticket.Status.RESOLVED)

    ingest(build_email(subject="Re: Krasch", body="Det kom tillbaka.", in_reply_to="<res1@client.example.org>"))

    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.resolved_at is None


def test_a_reply_to_a_closed_ticket_opens_a_new_one(mailboxes):
    first = ingest(build_email(message_id="<closed1@client.example.org>"))
    actions.change_status(ticket=first.ticket, to=Ticket.Status.RESOLVED)
    actions.change_status(ticket=first.ticket, to=Ticket.Status.CLOSED)

    reply = ingest(build_email(subject="Re: Krasch", body="Hej igen", in_reply_to="<closed1@client.example.org>"))

    assert reply.outcome == Outcome.NEW_TICKET
    assert reply.ticket != first.ticket


def test_an_empty_subject_never_groups_unrelated_mail(mailboxes):
    first = ingest(build_email(subject=""))
    second = ingest(build_email(subject="", body="Ett helt annat problem med licensen."))
    assert first.ticket != second.ticket
