"""A call still going on keeps its ticket from being merged away; once it is over it merges, and a voicemail's
transcription that comes after the merge goes on the survivor."""

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.routing.models import Offer
from apps.tickets import services as tickets
from apps.tickets.models import Message, Ticket
from apps.voice.models import Call

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(db):
    user = get_user_model().objects.create_user("phone_manager", password="pw")
    make_agent(user=user, languages=["sv", "en"], channels=["voice", "email"], manager=True)
    return user


def the_callers_mail(call: Call) -> Ticket:
    """Another ticket of the same person (by mail), the one the call's ticket is merged into."""
    return actions.open_ticket(channel="email", contact=call.ticket.contact, subject="Fakturan",
                               body="Fakturan är fel.", external_ref="<faktura@example.org>", language="sv")


def refused(ticket, into, user):
    with pytest.raises(tickets.TicketError, match="still going on"):
        actions.merge_tickets(ticket=ticket, into=into, user=user)


def test_a_queued_call_is_not_merged_until_the_caller_hung_up(caller, swedish_agent, manager, regions, queues):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=2)
    call = Call.objects.get(sid=caller.sid)
    assert call.state == Call.State.QUEUED
    mail = the_callers_mail(call)

    refused(call.ticket, mail, manager)
    refused(mail, call.ticket, manager)
    assert Ticket.objects.filter(merged_into__isnull=False).count() == 0

    caller.twiml("/voice/status", CallStatus="completed", CallDuration=40, SequenceNumber=2)
    actions.merge_tickets(ticket=Ticket.objects.get(pk=call.ticket_id), into=mail, user=manager)
    assert Ticket.objects.get(pk=call.ticket_id).merged_into_id == mail.pk


def test_an_answered_call_is_not_merged_while_the_caller_talks_to_the_agent(
        caller, swedish_agent, manager, regions, queues, twilio):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=2)
    call = Call.objects.get(sid=caller.sid)
    actions.accept_offer(offer_id=Offer.objects.get(ticket=call.ticket).pk, user=swedish_agent)
    caller.twiml("/voice/queue-result", QueueResult="redirected", QueueTime=20)
    call.refresh_from_db()
    assert call.state == Call.State.BRIDGED
    mail = the_callers_mail(call)

    refused(call.ticket, mail, manager)

    # The call is over; its state stays "bridged", Twilio's status says it ended.
    caller.twiml("/voice/status", CallStatus="completed", CallDuration=300, SequenceNumber=3)
    actions.merge_tickets(ticket=Ticket.objects.get(pk=call.ticket_id), into=mail, user=manager)
    assert Ticket.objects.get(pk=call.ticket_id).merged_into_id == mail.pk


def test_a_transcription_after_the_merge_goes_on_the_survivor(caller, english_agent, manager, regions, queues,
                                                              open_hours):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=1)
    caller.twiml("/voice/queue-result", QueueResult="leave", QueueTime=190)      # off to a voicemail
    call = Call.objects.get(sid=caller.sid)
    assert call.state == Call.State.VOICEMAIL
    mail = actions.open_ticket(channel="email", contact=call.ticket.contact, subject="Invoice",
                               body="My invoice is wrong.", external_ref="<invoice@example.org>", language="en")
    actions.merge_tickets(ticket=call.ticket, into=mail, user=manager)

    caller.twiml("/voice/transcription", TranscriptionText="Hi, my invoice is wrong.",
                 TranscriptionStatus="completed", TranscriptionSid="TR9")

    assert mail.messages.filter(external_id="TR9", direction=Message.Direction.INBOUND).exists()
    assert not Message.objects.filter(ticket_id=call.ticket_id).exists()
