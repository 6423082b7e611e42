"""Replies to tickets filed in an earlier batch: added together with their batch, as one at a time would."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from apps.desk import actions
from apps.mail import filing, intake
from apps.mail.models import InboundEmail, MailThread
from apps.mail.tests.conftest import build_email, ingest
from apps.tickets.models import Message, Ticket

Outcome = InboundEmail.Outcome
pytestmark = pytest.mark.usefixtures("mailboxes")
FROZEN = "2026-03-10 10:00 +00:00"


def file_together(*raws: bytes) -> list[InboundEmail]:
    """Store the messages, then file them as one batch (the live filer's way); the rows as filed."""
    stored = [intake.receive_email(raw=raw, source=InboundEmail.Source.SMTP) for raw in raws]
    filing.file_stored(inbound_ids=[inbound.pk for inbound in stored])
    return [InboundEmail.objects.select_related("ticket").get(pk=inbound.pk) for inbound in stored]


@time_machine.travel(FROZEN, tick=True)
def test_replies_to_tickets_of_an_earlier_batch_land_on_them_and_keep_their_threads_current():
    first = ingest(build_email(message_id="<a1@client.example.org>"))
    second = ingest(build_email(sender="bo@example.org", subject="Licens", message_id="<b1@client.example.org>"))
    later = timezone.now() + timedelta(hours=1)

    with time_machine.travel(later, tick=False):
        to_first, to_second, again = file_together(
            build_email(subject="Re: Krasch", body="Det hände igen.", in_reply_to="<a1@client.example.org>",
                        message_id="<a2@client.example.org>",
                        attachments=[("logg.txt", "text/plain", b"fel 42")]),
            build_email(sender="bo@example.org", subject="Re: Licens", body="Och nyckeln?",
                        in_reply_to="<b1@client.example.org>", message_id="<b2@client.example.org>"),
            build_email(subject="Re: Krasch", body="Och en gång till.", in_reply_to="<a2@client.example.org>",
                        message_id="<a3@client.example.org>"))

    assert [row.outcome for row in (to_first, to_second, again)] == [Outcome.REPLY] * 3
    assert (to_first.ticket_id, to_second.ticket_id, again.ticket_id) == (first.ticket_id, second.ticket_id,
                                                                         first.ticket_id)
    bodies = list(first.ticket.messages.filter(direction=Message.Direction.INBOUND).order_by("pk")
                  .values_list("body_text", flat=True))
    assert bodies[1:] == ["Det hände igen.", "Och en gång till."]
    assert [a.filename for a in to_first.ticket_message.attachments.all()] == ["logg.txt"]
    assert MailThread.objects.get(ticket=first.ticket).last_inbound_at == later
    assert MailThread.objects.get(ticket=second.ticket).last_inbound_at == later
    assert Ticket.objects.count() == 2


@time_machine.travel(FROZEN, tick=True)
def test_a_second_copy_of_a_batched_reply_is_a_duplicate_of_it():
    first = ingest(build_email(message_id="<c1@client.example.org>"))
    reply = build_email(subject="Re: Krasch", body="Igen.", in_reply_to="<c1@client.example.org>",
                        message_id="<c2@client.example.org>")

    filed, copy = file_together(reply, reply)

    assert (filed.outcome, copy.outcome) == (Outcome.REPLY, Outcome.DUPLICATE)
    assert (copy.ticket_id, copy.ticket_message_id) == (first.ticket_id, filed.ticket_message_id)
    assert first.ticket.messages.filter(external_id="<c2@client.example.org>").count() == 1


@time_machine.travel(FROZEN, tick=True)
def test_two_replies_in_one_batch_reopen_a_resolved_ticket_once(caplog):
    first = ingest(build_email(message_id="<r1@client.example.org>"))
    actions.change_status(ticket=first.ticket, to=Ticket.Status.RESOLVED)

    rows = file_together(*(build_email(subject="Re: Krasch", body=f"Igen {n}.", in_reply_to="<r1@client.example.org>")
                           for n in range(2)))

    assert [row.outcome for row in rows] == [Outcome.REPLY, Outcome.REPLY]
    ticket = Ticket.objects.get(pk=first.ticket_id)
    assert ticket.status == Ticket.Status.OPEN
    assert ticket.events.filter(kind="status", data__to=Ticket.Status.OPEN).count() == 1
    assert "filing them one by one" not in caplog.text          # filed as one batch


@time_machine.travel(FROZEN, tick=True)
def test_a_tagged_reply_to_a_ticket_without_a_mail_thread_starts_one_that_the_batch_threads_on():
    contact = ingest(build_email(sender="x@example.org")).ticket.contact
    chat = actions.open_ticket(channel="chat", contact=contact, subject="Chatt", body="Hej", language="sv")

    reply, follow_up = file_together(
        build_email(sender="x@example.org", subject=f"Re: Skrivaren [{chat.reference}]", body="Via mejl nu."),
        build_email(sender="x@example.org", subject="Re: Skrivaren", body="Och en sak till."))

    assert (reply.outcome, reply.ticket_id) == (Outcome.REPLY, chat.pk)
    thread = MailThread.objects.get(ticket=chat)
    assert (thread.address, thread.normalised_subject) == ("x@example.org", "skrivaren")
    assert (follow_up.outcome, follow_up.ticket_id) == (Outcome.REPLY, chat.pk)
