"""Who gets live and async work, and what happens when nobody takes it."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import connection

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.owners.models import Extension, ExtensionOwner
from apps.routing import services as routing
from apps.routing.models import AgentState, Offer
from apps.tickets import services as tickets
from apps.tickets.models import Ticket

NOW = datetime(2025, 5, 19, 9, 0, tzinfo=UTC)   # Monday
User = get_user_model()


def online_agent(name, languages=("sv",), channels=("chat", "voice", "email"), last_assigned=None, **state):
    user = User.objects.create_user(name, email=f"{name}@example.com")
    make_agent(user=user, languages=list(languages), channels=list(channels))
    AgentState.objects.create(user=user, presence="online", last_seen_at=NOW, last_assigned_at=last_assigned,
                              **state)
    return user


def open_ticket(contact, ref, channel="chat", **kwargs):
    return actions.open_ticket(channel=channel, contact=contact, subject="Hjälp", body="hej", external_ref=ref,
                               **kwargs)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def test_live_work_is_offered_to_the_agent_idle_longest(contact, queues):
    online_agent("recent", last_assigned=NOW - timedelta(minutes=1))
    idle = online_agent("idle", last_assigned=NOW - timedelta(hours=1))
    online_agent("german", languages=("de",), channels=("chat",))
    ticket = open_ticket(contact, "c1")
    offer = Offer.objects.get(ticket=ticket)
    assert (offer.agent, offer.status, offer.expires_at) == (idle, "pending", NOW + timedelta(seconds=20))
    assert Ticket.objects.get(pk=ticket.pk).assignee is None


def test_an_unanswered_offer_moves_on_after_20_seconds(contact, queues):
    first = online_agent("first", last_assigned=NOW - timedelta(hours=2))
    second = online_agent("second", last_assigned=NOW - timedelta(hours=1))
    ticket = open_ticket(contact, "c1")
    assert routing.expire_offers(now=NOW + timedelta(seconds=19)) == 0
    assert routing.expire_offers(now=NOW + timedelta(seconds=20)) == 1
    offers = list(Offer.objects.filter(ticket=ticket).order_by("pk").values_list("agent", "status"))
    assert offers == [(first.pk, "expired"), (second.pk, "pending")]


def test_accepting_assigns_opens_and_withdraws_the_offer(contact, queues):
    agent = online_agent("a")
    ticket = open_ticket(contact, "c1")
    offer = Offer.objects.get(ticket=ticket)
    actions.accept_offer(offer_id=offer.pk, user=agent)
    ticket.refresh_from_db()
    assert (ticket.assignee, ticket.status) == (agent, "open")
    assert Offer.objects.get(pk=offer.pk).status == "accepted"
    assert AgentState.objects.get(user=agent).last_assigned_at == NOW


def test_declining_offers_the_next_agent(contact, queues):
    first = online_agent("first", last_assigned=NOW - timedelta(hours=2))
    second = online_agent("second", last_assigned=NOW - timedelta(hours=1))
    ticket = open_ticket(contact, "c1")
    routing.decline_offer(offer_id=Offer.objects.get(ticket=ticket, agent=first).pk, user=first)
    assert Offer.objects.get(ticket=ticket, status="pending").agent == second


def test_agents_at_capacity_are_skipped(contact, queues):
    busy = online_agent("busy", max_chats=1, last_assigned=NOW - timedelta(hours=3))
    free = online_agent("free", last_assigned=NOW - timedelta(minutes=5))
    first = open_ticket(contact, "c1")
    actions.take_ticket(ticket=first, user=busy)
    second = open_ticket(contact, "c2")
    assert Offer.objects.get(ticket=second, status="pending").agent == free


def test_calls_go_only_to_phone_agents_with_a_free_line(contact, queues):
    online_agent("chat_only", channels=("chat",), last_assigned=NOW - timedelta(hours=5))
    phone = online_agent("phone", channels=("voice",))
    ticket = open_ticket(contact, "CA1", channel="voice")
    assert Offer.objects.get(ticket=ticket).agent == phone


def test_stale_or_away_agents_get_nothing_and_the_ticket_waits(contact, queues):
    online_agent("stale")
    AgentState.objects.update(last_seen_at=NOW - timedelta(seconds=61))
    away = online_agent("away")
    routing.set_presence(user=away, presence="away")
    ticket = open_ticket(contact, "c1")
    assert not Offer.objects.filter(ticket=ticket).exists()
    assert routing.live_agents_online(language="sv", channel="chat") == 0


def test_presence_expires_after_a_missed_heartbeat_and_offers_move_on(contact, queues):
    quiet = online_agent("quiet", last_assigned=NOW - timedelta(hours=2))
    ticket = open_ticket(contact, "c1")
    assert Offer.objects.get(ticket=ticket).agent == quiet
    later = NOW + timedelta(seconds=30)
    awake = online_agent("awake", last_assigned=NOW - timedelta(hours=1))
    AgentState.objects.filter(user=awake).update(last_seen_at=later)
    assert routing.expire_presence(now=NOW + timedelta(seconds=59)) == 0
    assert routing.expire_presence(now=NOW + timedelta(seconds=61)) == 1
    assert AgentState.objects.get(user=quiet).presence == "offline"
    assert Offer.objects.get(ticket=ticket, status="pending").agent == awake


def test_async_work_is_assigned_round_robin(contact, queues):
    a = online_agent("a")
    b = online_agent("b")
    owners = []
    for i in range(4):
        with time_machine.travel(NOW + timedelta(seconds=i + 1), tick=False):
            owners.append(open_ticket(contact, f"m{i}", channel="email").assignee)
    assert owners == [a, b, a, b]


def test_async_work_waits_in_the_queue_when_nobody_is_on_shift(contact, queues):
    ticket = open_ticket(contact, "m1", channel="email")
    assert ticket.assignee is None and ticket.queue == queues[("sv", "async")]


def test_functionality_questions_about_trained_extensions_go_to_trained_agents(contact, queues):
    owner = ExtensionOwner.objects.create(name="Acme", slug="acme")
    lighting = Extension.objects.create(name="Lighting", slug="acme-lighting", owner=owner, trained_specialist=True)
    untrained = online_agent("untrained", last_assigned=NOW - timedelta(hours=5))
    trained = online_agent("trained", last_assigned=NOW)
    AgentState.objects.get(user=trained).trained_extensions.add(lighting)
    ticket = open_ticket(contact, "m1", channel="email")
    assert ticket.assignee == untrained
    actions.triage_ticket(ticket=ticket, scope="extension", category="functionality_question",
                          extension=lighting, actor=tickets.Actor(user=untrained))
    assert Ticket.objects.get(pk=ticket.pk).assignee == trained


def test_an_agent_outside_the_queue_is_refused(contact, queues):
    german = online_agent("german", languages=("de",), channels=("chat", "email"))
    ticket = open_ticket(contact, "m1", channel="email")
    with pytest.raises(routing.NotAllowed):
        actions.take_ticket(ticket=ticket, user=german)
    with pytest.raises(routing.NotAllowed):
        actions.transfer_ticket(ticket=ticket, user=german, to_agent=german)


@pytest.mark.django_db(transaction=True)
def test_two_agents_accepting_at_once_exactly_one_wins(regions, queues):
    contact = tickets.find_or_create_contact(email="race@example.com", language="sv", region=regions["europe"])
    ticket = open_ticket(contact, "race")
    agents = [online_agent(f"r{i}") for i in range(2)]
    results, barrier = [], threading.Barrier(2)

    def take(agent):
        barrier.wait()
        try:
            actions.take_ticket(ticket=Ticket.objects.get(pk=ticket.pk), user=agent)
            results.append("won")
        except routing.AlreadyTaken as error:
            results.append(str(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(agent,)) for agent in agents]
    [thread.start() for thread in threads]
    [thread.join() for thread in threads]
    assert sorted(results) == ["Another agent has already taken this ticket.", "won"]
    assert Ticket.objects.get(pk=ticket.pk).assignee in agents


def test_a_manager_who_opens_the_console_stays_offline_until_they_choose_online(db):
    manager = get_user_model().objects.create_user("usm")
    make_agent(user=manager, languages=["sv"], channels=["email"], manager=True)
    assert routing.heartbeat(user=manager).presence == "offline"       # looking, not taking work
    routing.set_presence(user=manager, presence="online")
    assert routing.heartbeat(user=manager).presence == "online"
    agent = get_user_model().objects.create_user("sv")
    make_agent(user=agent, languages=["sv"], channels=["email"])
    assert routing.heartbeat(user=agent).presence == "online"          # an agent's console puts them online
