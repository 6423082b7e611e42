"""Ticket events reach their subscribers once per transaction, after commit, and never fail the writer."""

import pytest
from django.db import transaction

from apps.desk import actions
from apps.tickets.publish import ticket_events_committed
from apps.tickets.services import Actor


@pytest.fixture
def heard():
    received = []

    def listen(*, event_ids, **_signal):
        received.append(list(event_ids))

    ticket_events_committed.connect(listen, dispatch_uid="test-listen")
    yield received
    ticket_events_committed.disconnect(dispatch_uid="test-listen")


@pytest.mark.django_db(transaction=True)
def test_one_transaction_is_announced_once_after_commit_with_all_its_events(contact, heard):
    with transaction.atomic():
        ticket = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="Hej", external_ref="m1")
        actions.change_status(ticket=ticket, to="pending", actor=Actor.system())
        assert heard == []                                    # nothing before the commit
    assert len(heard) == 1
    assert heard[0] == list(ticket.events.order_by("pk").values_list("pk", flat=True))


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_change_announces_nothing(contact, heard):
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="Hej", external_ref="m2")
        raise RuntimeError("the request failed after the write")
    assert heard == []


@pytest.mark.django_db(transaction=True)
def test_a_failing_subscriber_neither_stops_the_others_nor_fails_the_write(contact, heard, caplog):
    def broken(**_signal):
        raise ConnectionError("Redis is away")

    ticket_events_committed.connect(broken, dispatch_uid="test-broken")
    try:
        ticket = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="Hej", external_ref="m3")
    finally:
        ticket_events_committed.disconnect(dispatch_uid="test-broken")
    assert ticket.pk and len(heard) == 1
    assert "ticket event subscriber" in caplog.text and "Redis is away" in caplog.text
