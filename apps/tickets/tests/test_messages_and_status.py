import pytest

from apps.desk import actions
from apps.tickets import services
from apps.tickets.models import Message, Ticket, TicketEvent

Status = Ticket.Status


@pytest.fixture
def ticket(contact):
    return actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="hej",
                                external_ref="<m-1@example.com>", external_id="<m-1@example.com>")


def test_an_agents_reply_records_first_response_and_acknowledgement(ticket, agent):
    actions.add_message(ticket=ticket, direction="outbound", body="Vi tittar på det",
                         author_user=agent)
    ticket.refresh_from_db()
    assert ticket.first_response_at is not None
    assert ticket.acknowledged_at == ticket.first_response_at
    assert ticket.status == Status.OPEN


def test_an_automatic_receipt_stops_no_clock(ticket):
    actions.add_message(ticket=ticket, direction="outbound", body="We got your mail",
                         automatic=True)
    ticket.refresh_from_db()
    assert ticket.first_response_at is None
    assert ticket.acknowledged_at is None
    assert ticket.status == Status.NEW


def test_a_repeated_message_id_is_stored_once(ticket, contact):
    again = actions.add_message(ticket=ticket, direction="inbound", body="hej",
                                 author_contact=contact, external_id="<m-1@example.com>")
    assert again.pk == ticket.messages.get().pk
    assert Message.objects.count() == 1


def test_allowed_transitions_are_logged_with_old_and_new_status(ticket, agent):
    actions.change_status(ticket=ticket, to=Status.OPEN, actor=services.Actor(user=agent))
    actions.change_status(ticket=ticket, to=Status.RESOLVED, actor=services.Actor(user=agent))
    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.resolved_at is not None
    events = ticket.events.filter(kind=TicketEvent.Kind.STATUS).order_by("pk")
    assert [(e.data["from"], e.data["to"], e.actor) for e in events] == [
        ("new", "open", agent), ("open", "resolved", agent)]


@pytest.mark.parametrize("path,bad", [
    ([], Status.CLOSED),                                    # new -> closed skips resolution
    ([Status.RESOLVED, Status.CLOSED], Status.OPEN),         # closed is final
    ([Status.FORWARDED], Status.PENDING),
])
def test_invalid_transitions_raise_and_change_nothing(ticket, path, bad):
    for step in path:
        actions.change_status(ticket=ticket, to=step)
    before = ticket.events.count()
    with pytest.raises(services.InvalidTransition, match="cannot move"):
        actions.change_status(ticket=ticket, to=bad)
    ticket.refresh_from_db()
    assert ticket.status == (path[-1] if path else Status.NEW)
    assert ticket.events.count() == before


def test_unknown_status_is_a_clear_error(ticket):
    with pytest.raises(services.InvalidTransition, match="Unknown status"):
        actions.change_status(ticket=ticket, to="archived")


def test_a_user_reply_reopens_a_resolved_ticket(ticket, contact):
    actions.change_status(ticket=ticket, to=Status.RESOLVED)
    actions.add_message(ticket=ticket, direction="inbound", body="still broken",
                         author_contact=contact, external_id="<m-2@example.com>")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    assert ticket.resolved_at is None


def test_closing_keeps_the_resolution_time(ticket):
    actions.change_status(ticket=ticket, to=Status.RESOLVED)
    resolved_at = Ticket.objects.get(pk=ticket.pk).resolved_at
    actions.change_status(ticket=ticket, to=Status.CLOSED)
    assert Ticket.objects.get(pk=ticket.pk).resolved_at == resolved_at


def test_events_are_append_only(ticket):
    event = ticket.events.first()
    event.data = {"tampered": True}
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_triage_by_an_agent_acknowledges_and_requires_an_extension(ticket, agent):
    from apps.owners.models import Extension, ExtensionOwner

    owner = ExtensionOwner.objects.create(name="Acme", slug="acme")
    stairs = Extension.objects.create(name="Stairs", slug="acme-stairs", owner=owner)
    with pytest.raises(services.TicketError, match="needs its extension"):
        actions.triage_ticket(ticket=ticket, scope="extension", category="bug",
                               actor=services.Actor(user=agent))
    actions.triage_ticket(ticket=ticket, scope="extension", category="bug", extension=stairs,
                           actor=services.Actor(user=agent))
    ticket.refresh_from_db()
    assert (ticket.scope, ticket.category, ticket.extension) == ("extension", "bug", stairs)
    assert ticket.acknowledged_at is not None
    assert ticket.events.filter(kind="triaged").get().data["extension"] == "acme-stairs"
