"""The ticket-event vocabulary: every writer's data has its kind's shape, and readers get typed fields."""

import pytest

from apps.desk import actions
from apps.tickets import services as tickets
from apps.tickets import vocabulary
from apps.tickets.models import TicketEvent


def test_every_kind_has_a_shape():
    assert set(vocabulary.SHAPES) == set(TicketEvent.Kind.values)


def test_a_key_outside_the_shape_is_refused():
    with pytest.raises(ValueError, match="a status event has no colour"):
        vocabulary.stored_data("status", {"from": "new", "to": "open", "colour": "red"})
    with pytest.raises(ValueError, match="is not the data of a call event"):
        vocabulary.stored_data("call", vocabulary.Chat(event="ended"))


def test_keywords_are_stored_under_their_keys_and_read_back():
    stored = vocabulary.stored_data("status", vocabulary.StatusChanged(previous="new", to="open"))
    assert stored == {"from": "new", "to": "open"}          # None fields are not stored
    assert vocabulary.details("status", stored) == vocabulary.StatusChanged(previous="new", to="open")
    # Data an older desk wrote with a key this one no longer knows still reads.
    assert vocabulary.details("call", {"event": "queued", "gone": 1}) == vocabulary.Call(event="queued")


@pytest.mark.django_db
def test_what_the_desk_writes_reads_back_typed(contact, agent):
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Faktura", body="Hej", external_ref="<v@x>")
    actions.change_status(ticket=ticket, to="open", actor=tickets.Actor(user=agent), reason="test")
    details = {event.kind: event.details for event in ticket.events.all()}
    assert details["opened"] == vocabulary.Opened(channel="email", language="sv", region="europe")
    assert details["status"] == vocabulary.StatusChanged(previous="new", to="open", reason="test")
    with pytest.raises(ValueError):
        tickets.log_event(ticket=ticket, kind="forwarding", data={"issue_key": "SUP-1"})
