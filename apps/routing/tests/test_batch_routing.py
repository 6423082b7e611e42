"""A batch of tickets routed together: one read of who is online, round-robin kept across the batch."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import transaction

from apps.desk import actions
from apps.routing import services as routing
from apps.routing.models import Offer
from apps.routing.tests.test_assignment import online_agent
from apps.tickets.models import Ticket
from apps.tickets.services import NewTicket
from supportdesk.readonce import read_once

NOW = datetime(2025, 5, 19, 9, 0, tzinfo=UTC)   # Monday


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def requests(contact, count, channel="email", prefix="m"):
    return [NewTicket(channel=channel, contact=contact, subject="Hjälp", body="hej", external_ref=f"{prefix}{n}")
            for n in range(count)]


def test_a_batch_of_async_work_is_shared_round_robin_in_a_few_statements(contact, queues,
                                                                          django_assert_max_num_queries):
    idle = online_agent("idle", last_assigned=NOW - timedelta(hours=2))
    recent = online_agent("recent", last_assigned=NOW - timedelta(hours=1))
    online_agent("german", languages=("de",), channels=("email",))
    with read_once():
        actions.open_tickets(requests(contact, 1, prefix="warm"))
        with django_assert_max_num_queries(40):     # one by one it took about 17 more queries a ticket
            opened = actions.open_tickets(requests(contact, 12))
    owners = list(Ticket.objects.filter(pk__in=[o.ticket.pk for o in opened]).order_by("pk")
                  .values_list("assignee__username", flat=True))
    # "warm" went to idle, so recent is first in line now.
    assert owners == ["recent", "idle"] * 6
    assert [o.ticket.assignee for o in opened] == [recent, idle] * 6


def test_new_live_tickets_are_offered_together_each_once(contact, queues, django_assert_max_num_queries):
    idle = online_agent("idle", last_assigned=NOW - timedelta(hours=2))
    online_agent("recent", last_assigned=NOW - timedelta(hours=1))
    with read_once():       # as the worker reads the policy: once
        actions.open_tickets(requests(contact, 1, channel="chat", prefix="warm"))
        with django_assert_max_num_queries(35):     # one by one: about 8 more queries a ticket
            opened = actions.open_tickets(requests(contact, 10, channel="chat"))
    offers = Offer.objects.filter(ticket__in=[o.ticket for o in opened])
    # Offers do not move the line (only a taken ticket does): each goes to the agent idle longest.
    assert sorted(offers.values_list("ticket_id", "agent_id", "status")) == sorted(
        (o.ticket.pk, idle.pk, "pending") for o in opened)
    actions.open_tickets(requests(contact, 10, channel="chat"))     # the same again: no second offer
    assert offers.count() == 10


def test_a_live_ticket_an_agent_let_pass_goes_to_the_next_in_a_batch(contact, queues):
    first = online_agent("first", last_assigned=NOW - timedelta(hours=2))
    second = online_agent("second", last_assigned=NOW - timedelta(hours=1))
    passed, fresh = (o.ticket for o in actions.open_tickets(requests(contact, 2, channel="chat")))
    Offer.objects.filter(ticket=passed).update(status=Offer.Status.DECLINED)
    made = routing.offer_many([passed, fresh])
    assert [(offer.ticket_id, offer.agent) for offer in made] == [(passed.pk, second)]
    assert Offer.objects.get(ticket=fresh).agent == first


def test_together_routes_once_at_the_end_and_not_what_was_rolled_back(contact, queues):
    online_agent("a")
    with transaction.atomic(), actions.together() as batch:
        kept = actions.open_tickets(requests(contact, 2))
        assert {o.ticket.assignee_id for o in kept} == {None}         # not yet: at the end
        mark = batch.mark()
        try:
            with transaction.atomic():
                actions.open_tickets(requests(contact, 1, prefix="undone"))
                raise RuntimeError("the step failed")
        except RuntimeError:
            batch.forget_since(mark)
        with actions.together():            # nested: the outer one routes
            actions.open_tickets(requests(contact, 1, prefix="inner"))
        assert Ticket.objects.filter(assignee__isnull=False).count() == 0
    assert Ticket.objects.filter(assignee__isnull=False).count() == 3
    assert not Ticket.objects.filter(external_ref="undone0").exists()


def test_routing_that_fails_leaves_the_batch_and_its_tickets_waiting(contact, queues, monkeypatch, caplog):
    online_agent("a")

    def broken(_tickets):
        raise RuntimeError("routing is down")

    monkeypatch.setattr(actions.routing, "assignments", broken)
    with transaction.atomic(), actions.together():
        opened = actions.open_tickets(requests(contact, 3))
    assert Ticket.objects.filter(pk__in=[o.ticket.pk for o in opened], assignee__isnull=True).count() == 3
    assert "could not route 3 tickets together" in caplog.text


def test_offers_due_together_move_on_together(contact, queues, django_assert_max_num_queries):
    first = online_agent("first", last_assigned=NOW - timedelta(hours=2))
    second = online_agent("second", last_assigned=NOW - timedelta(hours=1))
    with read_once():
        opened = [o.ticket for o in actions.open_tickets(requests(contact, 8, channel="chat"))]
        accepted = actions.accept_offer(offer_id=Offer.objects.get(ticket=opened[0]).pk, user=first)
        with django_assert_max_num_queries(12):     # one by one: about 8 queries an offer
            assert routing.expire_offers(now=NOW + timedelta(seconds=20)) == 7
    moved = Offer.objects.filter(ticket__in=opened[1:])
    assert sorted(moved.values_list("agent_id", "status")) == sorted(
        [(first.pk, "expired")] * 7 + [(second.pk, "pending")] * 7)
    assert Offer.objects.get(ticket=accepted).status == "accepted"
    assert routing.expire_offers(now=NOW + timedelta(seconds=39)) == 0
