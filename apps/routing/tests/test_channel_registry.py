"""Routing reads the channel registry: liveness, capacity and the reply path follow what a channel registers."""

from datetime import UTC, datetime

import pytest
import time_machine

from apps.desk import actions
from apps.routing.models import Offer
from apps.routing.tests.test_assignment import online_agent
from apps.tickets import channels

NOW = datetime(2025, 5, 19, 9, 0, tzinfo=UTC)   # Monday


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def voicemail_is_async(monkeypatch):
    """What the voice app will register: a call that became a voicemail waits like mail."""
    monkeypatch.setattr(channels.spec("voice"), "live_while",
                        lambda ticket: not ticket.external_ref.startswith("voicemail:"))
    monkeypatch.setattr(channels.spec("voice"), "live_among", None)


def test_a_queued_call_is_offered_and_a_voicemail_is_assigned_round_robin(contact, queues, voicemail_is_async):
    agent = online_agent("ring")
    call = actions.open_ticket(channel="voice", contact=contact, subject="Samtal", body="", external_ref="CA1")
    assert call.assignee is None and Offer.objects.get(ticket=call).agent == agent
    voicemail = actions.open_ticket(channel="voice", contact=contact, subject="Röstmeddelande", body="",
                                    external_ref="voicemail:CA2")
    assert voicemail.assignee == agent and not Offer.objects.filter(ticket=voicemail).exists()


def test_an_agent_at_their_call_capacity_is_not_offered_another(contact, queues):
    busy = online_agent("busy", max_calls=1)
    free = online_agent("free", max_calls=1)
    first = actions.open_ticket(channel="voice", contact=contact, subject="1", body="", external_ref="CA1")
    actions.accept_offer(offer_id=Offer.objects.get(ticket=first).pk, user=Offer.objects.get(ticket=first).agent)
    holder = first.__class__.objects.get(pk=first.pk).assignee
    second = actions.open_ticket(channel="voice", contact=contact, subject="2", body="", external_ref="CA2")
    assert Offer.objects.get(ticket=second).agent == ({busy, free} - {holder}).pop()


def test_only_the_hooks_a_channel_may_bring_can_be_registered():
    with pytest.raises(TypeError, match="not channel hooks: capacity_field"):
        channels.register("voice", capacity_field="max_chats")


def test_a_reply_falls_back_only_to_a_channel_that_reaches_the_user(contact, monkeypatch):
    ticket = actions.open_ticket(channel="chat", contact=contact, subject="Chatt", body="", external_ref="c1")
    chat_way, mail_way = channels.spec("chat").deliver_reply, channels.spec("email").deliver_reply
    assert channels.reply_deliveries(ticket) == [chat_way, mail_way]       # the contact has an address
    monkeypatch.setattr(channels.spec("email"), "reaches", lambda ticket: False)
    assert channels.reply_deliveries(ticket) == [chat_way]
    ticket.channel = "email"
    assert channels.reply_deliveries(ticket) == [mail_way]                 # mail has no fallback of its own
