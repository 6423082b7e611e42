"""Realistic call sequences replayed as signed Twilio webhooks, asserting TwiML and ticket/SLA state."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings

from apps.desk import actions
from apps.outbox import services as outbox
from apps.outbox.models import OutboxItem
from apps.routing import services as routing
from apps.routing.models import Offer
from apps.sla.models import SlaTarget
from apps.tickets.models import Message, Ticket, TicketEvent
from apps.voice.jobs import apply_steps_job
from apps.voice.models import Call, CallStep
from apps.voice.tests.conftest import CALLER, CLOSED, Caller, said
from conftest import run_worker

pytestmark = pytest.mark.django_db


def call_events(ticket) -> list[str]:
    return [event.data["event"] for event in ticket.events.filter(kind=TicketEvent.Kind.CALL)]


def target(ticket, kind=SlaTarget.Kind.FIRST_RESPONSE) -> SlaTarget:
    return SlaTarget.objects.get(ticket=ticket, kind=kind)


def test_answered_call_incoming_language_wait_bridged_completed(caller, swedish_agent, regions, queues, twilio,
                                                                open_hours):
    menu = caller.twiml("/voice/incoming")
    gather = menu.find("Gather")
    assert gather.get("action") == "/voice/language" and "dtmf" in gather.get("input")
    assert "For English, press 1" in said(menu) and "svenska, tryck 2" in said(menu)
    assert menu.find("Redirect").text == "/voice/language"      # silence comes back as a miss
    call = Call.objects.get(sid=caller.sid)
    assert call.state == Call.State.MENU and call.ticket is None and call.region == regions["europe"]

    queued = caller.twiml("/voice/language", Digits=2)
    enqueue = queued.find("Enqueue")
    assert enqueue.text == "support-sv" and enqueue.get("waitUrl") == "/voice/wait?language=sv"
    assert enqueue.get("action") == "/voice/queue-result?language=sv"
    call.refresh_from_db()
    ticket = call.ticket
    assert (ticket.channel, ticket.language, ticket.status, ticket.contact.phone) == ("voice", "sv", "new", CALLER)
    assert ticket.messages.get().external_id == caller.sid
    answer = target(ticket)
    assert answer.due_at - answer.started_at == timedelta(minutes=3)
    offer = Offer.objects.get(ticket=ticket, status=Offer.Status.PENDING)
    assert offer.agent == swedish_agent

    for position, waited in ((1, 5), (1, 25), (1, 45)):
        hold = caller.twiml(enqueue.get("waitUrl"), QueuePosition=position, QueueTime=waited, AvgQueueTime=60)
        assert "nummer 1 i kön" in said(hold) and hold.find("Play") is not None

    open_hours.shift(timedelta(seconds=50))
    actions.accept_offer(offer_id=offer.pk, user=swedish_agent)
    row = OutboxItem.objects.get(kind="twilio.call")
    assert f"<Client>agent-{swedish_agent.pk}</Client>" in row.payload["twiml"]
    assert outbox.deliver(item_ids=[row.pk]) == {"sent": 1}
    [update] = twilio.call_updates()
    assert update.path.endswith(f"/Calls/{caller.sid}.json") and update.auth[0].startswith("AC")
    assert "<Dial" in update.form["Twiml"] and f"agent-{swedish_agent.pk}" in update.form["Twiml"]

    caller.twiml("/voice/queue-result", QueueResult="redirected", QueueTime=52)
    answer.refresh_from_db()
    assert answer.met_at == answer.started_at + timedelta(seconds=50)      # met when the caller left the queue
    call.refresh_from_db()
    assert call.state == Call.State.BRIDGED and call.answered_by == swedish_agent and call.queue_seconds == 52

    caller.twiml("/voice/status", CallStatus="completed", CallDuration=300, SequenceNumber=3)
    call.refresh_from_db()
    assert (call.twilio_status, call.duration_seconds) == ("completed", 300)
    ticket.refresh_from_db()
    assert ticket.status == Ticket.Status.OPEN and ticket.assignee == swedish_agent
    assert call_events(ticket) == ["queued", "bridged", "ended"]


def test_closed_hours_say_the_next_opening_and_take_a_swedish_voicemail(caller, regions, queues, agent):
    with time_machine.travel(CLOSED, tick=False):
        closed = caller.twiml("/voice/incoming")
        spoken = said(closed)
        assert "We open again Monday 14 December at 08:00" in spoken
        assert "Vi öppnar igen måndag 14 december kl. 08:00" in spoken or "måndag 14 december" in spoken
        assert "support-eu at example.com" in spoken
        assert closed.find("Gather").get("action") == "/voice/voicemail"
        assert Call.objects.get(sid=caller.sid).ticket is None

        record = caller.twiml("/voice/voicemail", Digits=2)
        assert record.find("Record").get("maxLength") == "120"
        assert record.find("Record").get("transcribe") is None          # Swedish stays audio
        call = Call.objects.get(sid=caller.sid)
        ticket = call.ticket
        assert (call.state, ticket.language, ticket.queue.kind) == ("voicemail", "sv", "async")
        assert target(ticket).not_applicable_at is not None
        callback = target(ticket, SlaTarget.Kind.CALLBACK)
        assert callback.target_seconds == 8 * 3600

        thanks = caller.twiml("/voice/voicemail", RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC1/"
                              "Recordings/RE1", RecordingSid="RE1", RecordingDuration=42)
        assert thanks.find("Hangup") is not None
        call.refresh_from_db()
        assert (call.recording_sid, call.recording_seconds) == ("RE1", 42)
        voicemail = ticket.messages.get(external_id="RE1")
        assert voicemail.direction == Message.Direction.INBOUND and "0:42" in voicemail.body_text
        caller.twiml("/voice/voicemail", RecordingUrl="https://api.twilio.com/x/Recordings/RE1", RecordingSid="RE1",
                     RecordingDuration=42)     # Twilio repeats it
        assert ticket.messages.filter(external_id="RE1").count() == 1


def test_hang_up_while_queued_is_an_abandoned_call_worked_as_a_callback(caller, swedish_agent, regions, queues,
                                                                       open_hours):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=2)
    ticket = Call.objects.get(sid=caller.sid).ticket
    open_hours.shift(timedelta(seconds=30))
    assert len(caller.twiml("/voice/queue-result", QueueResult="hangup", QueueTime=30)) == 0
    call = Call.objects.get(sid=caller.sid)
    ticket.refresh_from_db()
    assert call.state == Call.State.ABANDONED and call.queue_seconds == 30
    assert target(ticket).not_applicable_at is not None and target(ticket).breached_at is None
    assert target(ticket, SlaTarget.Kind.CALLBACK).met_at is None
    assert ticket.queue.kind == "async" and not Offer.objects.filter(ticket=ticket, status="pending").exists()
    assert call_events(ticket) == ["queued", "abandoned"]


def test_a_caller_in_the_menu_who_hangs_up_leaves_a_call_and_no_ticket(caller, regions, queues, open_hours):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/status", CallStatus="completed", CallDuration=8, SequenceNumber=1)
    call = Call.objects.get(sid=caller.sid)
    assert (call.state, call.twilio_status, call.ticket) == ("menu", "completed", None)
    assert Ticket.objects.count() == 0


def test_repeated_callsid_opens_one_ticket(caller, swedish_agent, regions, queues):
    for _attempt in range(2):
        caller.twiml("/voice/incoming")
        assert caller.twiml("/voice/language", Digits=2).find("Enqueue").text == "support-sv"
    assert Call.objects.count() == 1 and Ticket.objects.count() == 1
    assert Offer.objects.filter(status="pending").count() == 1


def test_status_callbacks_out_of_order_keep_the_latest(caller, swedish_agent, regions, queues):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=2)
    caller.twiml("/voice/status", CallStatus="completed", CallDuration=95, SequenceNumber=4)
    caller.twiml("/voice/status", CallStatus="ringing", SequenceNumber=1)
    caller.twiml("/voice/status", CallStatus="completed", CallDuration=95, SequenceNumber=4)   # repeated
    call = Call.objects.get(sid=caller.sid)
    assert (call.twilio_status, call.status_sequence, call.duration_seconds) == ("completed", 4, 95)
    # Hung up while queued and before the queue's own report: abandoned, and ended recorded once.
    assert call.state == Call.State.ABANDONED
    assert call_events(call.ticket) == ["queued", "abandoned", "ended"]


def test_at_three_minutes_the_caller_may_leave_a_voicemail_and_the_target_is_breached(
        caller, english_agent, regions, queues, open_hours):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=1)
    ticket = Call.objects.get(sid=caller.sid).ticket
    early = caller.twiml("/voice/wait?language=en", QueuePosition=1, QueueTime=170, AvgQueueTime=0)
    assert early.find("Gather") is None
    open_hours.shift(timedelta(seconds=185))
    routing.heartbeat(user=english_agent)      # still online, busy elsewhere: nobody took the call
    offered = caller.twiml("/voice/wait?language=en", QueuePosition=1, QueueTime=185)
    assert "To leave a voicemail, press 1" in said(offered)
    assert offered.find("Gather").get("action") == "/voice/wait?language=en"
    assert caller.twiml("/voice/wait?language=en", QueuePosition=1, QueueTime=190, Digits=1).find("Leave") is not None
    voicemail = caller.twiml("/voice/queue-result", QueueResult="leave", QueueTime=190)
    assert voicemail.find("Record").get("transcribe") == "true"      # English voicemail is transcribed
    answer = target(ticket)
    assert answer.breached_at is not None and answer.not_applicable_at is None
    caller.twiml("/voice/transcription", TranscriptionText="Hi, my invoice is wrong.", TranscriptionStatus="completed",
                 TranscriptionSid="TR1")
    assert "my invoice is wrong" in ticket.messages.get(external_id="TR1").body_text


def test_a_callback_asked_for_in_the_queue(caller, swedish_agent, regions, queues, open_hours):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=2)
    caller.twiml("/voice/wait?language=sv", QueuePosition=1, QueueTime=181, Digits=2)
    promise = caller.twiml("/voice/queue-result", QueueResult="leave", QueueTime=182)
    assert "ringer upp dig" in said(promise) and promise.find("Hangup") is not None
    call = Call.objects.get(sid=caller.sid)
    assert call.state == Call.State.CALLBACK
    # The agent calls back and logs it: that answers the callback target.
    caller.client.force_login(swedish_agent)
    response = caller.client.post(f"/voice/tickets/{call.ticket.reference}/callback",
                                  {"summary": "Called back, explained the invoice."})
    assert response.status_code == 302
    assert target(call.ticket, SlaTarget.Kind.CALLBACK).met_at is not None


def test_nobody_online_goes_to_voicemail_at_once(caller, agent, regions, queues, open_hours):
    voicemail = caller.twiml("/voice/language", Digits=1)     # agent_sv is offline; nobody takes English
    assert voicemail.find("Record") is not None and "nobody can take your call" in said(voicemail)
    call = Call.objects.get(sid=caller.sid)
    assert call.state == Call.State.VOICEMAIL and call.ticket.queue.kind == "async"


def test_agent_who_does_not_pick_up_sends_the_caller_to_voicemail(caller, swedish_agent, regions, queues, twilio):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=2)
    ticket = Call.objects.get(sid=caller.sid).ticket
    actions.take_ticket(ticket=ticket, user=swedish_agent)
    outbox.deliver(item_ids=list(OutboxItem.objects.values_list("pk", flat=True)))
    missed = caller.twiml("/voice/dial-result", DialCallStatus="no-answer")
    assert missed.find("Record") is not None
    assert Call.objects.get(sid=caller.sid).state == Call.State.VOICEMAIL
    assert "agent_missed" in call_events(ticket)


def test_the_queue_result_is_answered_before_the_worker_reaches_the_call(caller, swedish_agent, regions, queues,
                                                                        open_hours):
    """The answer comes from the request and the caller's stored choice; the worker applies the steps in order."""
    caller.twiml("/voice/incoming", apply=False)
    caller.twiml("/voice/language", Digits=2, apply=False)
    caller.twiml("/voice/wait?language=sv", QueuePosition=1, QueueTime=181, Digits=2, apply=False)
    promise = caller.twiml("/voice/queue-result?language=sv", QueueResult="leave", QueueTime=182, apply=False)
    assert "ringer upp dig" in said(promise) and "4 6 7 0 1 2 3 4 5 6 7" in said(promise)
    assert not Call.objects.exists()
    apply_steps_job()
    call = Call.objects.get(sid=caller.sid)
    assert (call.state, call.leaving_for, call.language) == (Call.State.CALLBACK, "callback", "sv")
    assert call_events(call.ticket) == ["queued", "callback"]
    assert not CallStep.objects.filter(applied_at__isnull=True).exists()


def test_a_voicemail_from_the_queue_is_answered_at_once_and_filed_by_the_worker_in_order(
        caller, swedish_agent, regions, queues, open_hours):
    caller.twiml("/voice/incoming", apply=False)
    queued = caller.twiml("/voice/language", Digits=2, apply=False)
    wait, result = queued.find("Enqueue").get("waitUrl"), queued.find("Enqueue").get("action")
    caller.twiml(wait, QueuePosition=1, QueueTime=40, Digits=1, apply=False)
    record = caller.twiml(result, QueueResult="leave", QueueTime=41, apply=False)
    assert record.find("Record").get("transcribe") is None       # Swedish: kept as audio
    thanks = caller.twiml(record.find("Record").get("action"), RecordingUrl="https://api.twilio.com/x/Recordings/RE7",
                          RecordingSid="RE7", RecordingDuration=12, apply=False)
    assert "Tack" in said(thanks) and thanks.find("Hangup") is not None
    caller.twiml(result, QueueResult="leave", QueueTime=41, apply=False)       # Twilio repeats the report
    assert not Call.objects.exists()
    apply_steps_job()
    call = Call.objects.get(sid=caller.sid)
    assert (call.state, call.language, call.queue_seconds, call.recording_sid) == (
        Call.State.VOICEMAIL, "sv", 41, "RE7")
    assert call_events(call.ticket) == ["queued", "voicemail"]
    assert call.ticket.messages.filter(external_id="RE7").count() == 1
    assert target(call.ticket).not_applicable_at is not None       # left before three minutes


def test_a_failed_queue_answers_a_voicemail_in_the_callers_language(caller, swedish_agent, regions, queues,
                                                                     open_hours):
    caller.twiml("/voice/incoming")
    caller.twiml("/voice/language", Digits=2)
    record = caller.twiml("/voice/queue-result?language=sv", QueueResult="queue-full", QueueTime=0)
    assert record.find("Record").get("action") == "/voice/voicemail?language=sv"
    assert Call.objects.get(sid=caller.sid).state == Call.State.VOICEMAIL


@pytest.mark.django_db(transaction=True)       # the worker's job is queued on commit
def test_stored_steps_reach_the_worker_through_its_queue(client, swedish_agent, regions, queues, redis_queues):
    caller = Caller(client)
    caller.twiml("/voice/incoming", apply=False)
    caller.twiml("/voice/language", Digits=2, apply=False)
    if settings.REDIS_URL:      # stored and queued: nothing of the call is written until the worker runs
        assert not Call.objects.exists() and CallStep.objects.filter(applied_at__isnull=True).count() == 2
        run_worker("default")
    # embedded: the job ran in process as each answer was committed
    call = Call.objects.get(sid=caller.sid)
    assert call.state == Call.State.QUEUED and call.ticket.language == "sv"
    assert Offer.objects.get(ticket=call.ticket).agent == swedish_agent


def test_callers_entering_the_queue_together_are_queued_in_one_batch(client, swedish_agent, regions, queues,
                                                                      open_hours, django_assert_max_num_queries):
    """Ten callers the worker finds at once: one batch opens ten tickets, each clock from its own choice."""
    callers = [Caller(client, sid=f"CA{n:032d}", number="+46701111111" if n < 2 else f"+4670222{n:04d}")
               for n in range(10)]
    for caller in callers:
        caller.twiml("/voice/incoming", apply=False)
        open_hours.shift(timedelta(seconds=1))
        caller.twiml("/voice/language", Digits=2, apply=False)
    with django_assert_max_num_queries(55):      # 46 (64 before the calls were written together, 450 one by one)
        assert apply_steps_job() == 20
    queued = {call.sid: call for call in Call.objects.select_related("ticket__contact")}
    assert {call.state for call in queued.values()} == {Call.State.QUEUED}
    assert Ticket.objects.count() == 10 and len({call.ticket.contact_id for call in queued.values()}) == 9
    for caller in callers:
        call = queued[caller.sid]
        answer = target(call.ticket)
        assert answer.started_at == call.queued_at == CallStep.objects.get(sid=caller.sid, step="language").received_at
        assert answer.due_at - answer.started_at == timedelta(minutes=3)
        assert call_events(call.ticket) == ["queued"]
    assert Offer.objects.filter(status=Offer.Status.PENDING).count() >= 1


def second_swedish_agent():
    from django.contrib.auth import get_user_model

    from apps.accounts.services import make_agent

    user = get_user_model().objects.create_user("agent_sv2", password="pw")
    make_agent(user=user, languages=["sv"], channels=["voice"])
    routing.set_presence(user=user, presence="online")
    return user


def queued_callers(client, open_hours, count):
    callers = [Caller(client, sid=f"CA{n:032d}", number=f"+4670333{n:04d}") for n in range(count)]
    for caller in callers:
        caller.twiml("/voice/incoming", apply=False)
        caller.twiml("/voice/language", Digits=2, apply=False)
    apply_steps_job()
    open_hours.shift(timedelta(seconds=40))
    return callers


def test_callers_hanging_up_together_are_handed_back_together(client, swedish_agent, regions, queues,
                                                              open_hours, django_assert_max_num_queries):
    """Ten callers who hung up, found by the worker at once: async work, shared round-robin, in one batch."""
    other = second_swedish_agent()
    callers = queued_callers(client, open_hours, 10)
    for caller in callers:
        caller.post("/voice/queue-result", QueueResult="hangup", QueueTime=40, apply=False)
        caller.post("/voice/status", CallStatus="completed", CallDuration=45, SequenceNumber=3, apply=False)
    with django_assert_max_num_queries(60):   # 50 (116 before the calls were written together, 490 one by one)
        assert apply_steps_job() == 20
    tickets = [Call.objects.select_related("ticket").get(sid=caller.sid).ticket for caller in callers]
    assert {ticket.queue for ticket in tickets} == {queues[("sv", "async")]}
    assert sorted(ticket.assignee.username for ticket in tickets) == sorted([swedish_agent.username,
                                                                             other.username] * 5)
    for ticket in tickets:
        assert target(ticket).not_applicable_at == Call.objects.get(ticket=ticket).queued_at + timedelta(seconds=40)
        assert target(ticket, SlaTarget.Kind.CALLBACK).due_at is not None
        assert not Offer.objects.filter(ticket=ticket, status=Offer.Status.PENDING).exists()
        assert call_events(ticket) == ["queued", "abandoned", "ended"]
        handed = ticket.events.filter(kind=TicketEvent.Kind.ASSIGNED).order_by("pk")
        assert [(e.actor_label, e.data["to"]) for e in handed] == [("phone", None), ("routing", ticket.assignee_id)]


def test_when_handing_back_together_fails_each_call_is_handed_back_alone(client, swedish_agent, regions, queues,
                                                                         open_hours, monkeypatch, caplog):
    callers = queued_callers(client, open_hours, 3)
    for caller in callers:
        caller.post("/voice/queue-result", QueueResult="hangup", QueueTime=40, apply=False)
    start = actions.sla.start_callback_clocks

    def only_one_at_a_time(handbacks):
        if len(handbacks) > 1:
            raise RuntimeError("a batch too many")
        return start(handbacks)

    monkeypatch.setattr(actions.sla, "start_callback_clocks", only_one_at_a_time)
    assert apply_steps_job() == 3
    assert "could not hand back 3 tickets together" in caplog.text
    for caller in callers:
        ticket = Call.objects.get(sid=caller.sid).ticket
        assert ticket.queue == queues[("sv", "async")] and ticket.assignee == swedish_agent
        assert target(ticket, SlaTarget.Kind.CALLBACK).due_at is not None


def test_which_calls_are_live_is_one_question_for_many(client, swedish_agent, regions, queues, open_hours,
                                                      django_assert_num_queries):
    from apps.tickets import channels

    callers = queued_callers(client, open_hours, 4)
    callers[0].post("/voice/queue-result", QueueResult="hangup", QueueTime=40)
    tickets = [Call.objects.select_related("ticket").get(sid=caller.sid).ticket for caller in callers]
    with django_assert_num_queries(1):
        live = channels.live_ones(tickets)
    assert live == {ticket.pk for ticket in tickets[1:]}
    assert [channels.is_live(ticket) for ticket in tickets] == [False, True, True, True]
