"""A reply to a ticket that was merged into another goes on the survivor, whatever rule threads it."""

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.mail.models import InboundEmail
from apps.mail.tests.conftest import build_email, ingest
from apps.tickets.models import Message, Ticket

Outcome = InboundEmail.Outcome


@pytest.fixture
def manager(db):
    user = get_user_model().objects.create_user("mail_manager", password="pw")
    make_agent(user=user, languages=["sv"], channels=["email"], manager=True)
    return user


def opened(message_id: str, subject: str) -> Ticket:
    return ingest(build_email(message_id=message_id, subject=subject, body=f"{subject}: det fungerar inte.")).ticket


def test_a_reply_to_a_merged_tickets_message_goes_on_the_survivor(mailboxes, manager):
    merged = opened("<m1@client.example.org>", "Exporten kraschar")
    survivor = opened("<m2@client.example.org>", "Samma krasch igen")
    actions.merge_tickets(ticket=merged, into=survivor, user=manager)

    reply = ingest(build_email(subject="Re: Exporten kraschar", body="Loggen bifogas.",
                               message_id="<m3@client.example.org>", in_reply_to="<m1@client.example.org>"))

    assert reply.outcome == Outcome.REPLY
    assert reply.ticket_id == survivor.pk
    assert Ticket.objects.count() == 2
    assert survivor.messages.filter(direction=Message.Direction.INBOUND, body_text__contains="Loggen").exists()
    assert Ticket.objects.get(pk=merged.pk).status == Ticket.Status.CLOSED


def test_a_reply_follows_a_chain_of_merges_to_its_end(mailboxes, manager):
    first = opened("<c1@client.example.org>", "Licensen")
    second = opened("<c2@client.example.org>", "Licensfel")
    third = opened("<c3@client.example.org>", "Licensen igen")
    actions.merge_tickets(ticket=first, into=second, user=manager)
    actions.merge_tickets(ticket=Ticket.objects.get(pk=second.pk), into=third, user=manager)

    reply = ingest(build_email(subject="Re: Licensen", body="Fortfarande trasig.",
                               in_reply_to="<c1@client.example.org>"))

    assert reply.outcome == Outcome.REPLY
    assert reply.ticket_id == third.pk


def test_the_merged_tickets_subject_tag_from_its_person_goes_on_the_survivor(mailboxes, manager):
    merged = opened("<t1@client.example.org>", "Ritningen")
    survivor = opened("<t2@client.example.org>", "Ritningen försvann")
    actions.merge_tickets(ticket=merged, into=survivor, user=manager)

    reply = ingest(build_email(subject=f"Angående [{merged.reference}]", body="Hittade den inte."))

    assert reply.outcome == Outcome.REPLY
    assert reply.ticket_id == survivor.pk


def test_a_reply_to_a_merged_ticket_whose_survivor_is_closed_opens_a_new_ticket(mailboxes, manager):
    merged = opened("<x1@client.example.org>", "Inloggning")
    survivor = opened("<x2@client.example.org>", "Inloggningen igen")
    actions.merge_tickets(ticket=merged, into=survivor, user=manager)
    actions.change_status(ticket=survivor, to=Ticket.Status.RESOLVED)
    actions.change_status(ticket=survivor, to=Ticket.Status.CLOSED)

    reply = ingest(build_email(subject="Re: Inloggning", body="Nu igen.", in_reply_to="<x1@client.example.org>"))

    assert reply.outcome == Outcome.NEW_TICKET
    assert reply.ticket_id not in (merged.pk, survivor.pk)
