"""Clocks on real tickets: started at receipt (or next opening), met by people only."""

from datetime import UTC, datetime

import pytest
import time_machine

from apps.desk import actions
from apps.policy.models import SlaPolicy
from apps.sla.models import SlaTarget
from apps.tickets import services
from apps.tickets.models import TicketEvent

Kind = SlaTarget.Kind


def targets(ticket):
    return {t.kind: t for t in ticket.sla_targets.all()}


@time_machine.travel("2025-12-23 14:00 +00:00", tick=False)   # Tue 15:00 in Stockholm
def test_acknowledgement_clock_skips_swedish_christmas(contact):
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="hej",
                                  external_ref="<m-1@example.com>")
    ack = targets(ticket)[Kind.ACKNOWLEDGE]
    # 2 h on the 23rd; 24th-28th closed (holidays, weekend); 9 h on the 29th; 1 h on the 30th
    assert ack.due_at == datetime(2025, 12, 30, 8, 0, tzinfo=UTC)
    assert ack.warn_at == datetime(2025, 12, 29, 14, 0, tzinfo=UTC)   # 9 h of 12: 2 h + 7 h on the 29th
    response = targets(ticket)[Kind.FIRST_RESPONSE]
    assert response.due_at == datetime(2025, 12, 23, 22, 0, tzinfo=UTC)
    assert response.clock == SlaPolicy.Clock.WINDOW


@time_machine.travel("2025-05-17 08:00 +00:00", tick=False)   # Saturday
def test_an_email_received_while_closed_counts_from_the_next_opening(contact):
    ticket = actions.open_ticket(channel="email", contact=contact, subject="", body="hej", external_ref="m2")
    # 24x5 reopens Monday 06:00 Kuala Lumpur = Sunday 22:00 UTC; 8 h later.
    assert targets(ticket)[Kind.FIRST_RESPONSE].due_at == datetime(2025, 5, 19, 6, 0, tzinfo=UTC)


@time_machine.travel("2025-05-19 09:00 +00:00", tick=False)
def test_chat_counts_one_minute_from_when_the_visitor_waits(contact):
    waiting = datetime(2025, 5, 19, 9, 0, 30, tzinfo=UTC)
    ticket = actions.open_ticket(channel="chat", contact=contact, subject="", body="hej",
                                  external_ref="conv-1", waiting_since=waiting)
    response = targets(ticket)[Kind.FIRST_RESPONSE]
    assert (response.started_at, response.due_at) == (waiting, datetime(2025, 5, 19, 9, 1, 30, tzinfo=UTC))
    assert response.clock == SlaPolicy.Clock.WALL


def test_an_automatic_receipt_meets_no_target(contact):
    ticket = actions.open_ticket(channel="email", contact=contact, subject="", body="hej", external_ref="m3")
    actions.add_message(ticket=ticket, direction="outbound", body="Received", automatic=True)
    assert all(t.met_at is None for t in ticket.sla_targets.all())


def test_a_persons_reply_meets_both_targets_and_logs_it(contact, agent):
    ticket = actions.open_ticket(channel="email", contact=contact, subject="", body="hej", external_ref="m4")
    reply = actions.add_message(ticket=ticket, direction="outbound", body="Hej!", author_user=agent)
    met = targets(ticket)
    assert met[Kind.ACKNOWLEDGE].met_at == reply.created_at
    assert met[Kind.FIRST_RESPONSE].met_at == reply.created_at
    events = ticket.events.filter(kind=TicketEvent.Kind.SLA).values_list("data", flat=True)
    assert sorted(e["target"] for e in events if e["event"] == "met") == ["acknowledge", "first_response"]


def test_triage_meets_only_the_acknowledgement(contact, agent):
    ticket = actions.open_ticket(channel="email", contact=contact, subject="", body="hej", external_ref="m5")
    actions.triage_ticket(ticket=ticket, scope="core", category="bug", actor=services.Actor(user=agent))
    met = targets(ticket)
    assert met[Kind.ACKNOWLEDGE].met_at is not None
    assert met[Kind.FIRST_RESPONSE].met_at is None


def test_forwarding_to_the_extensions_owner_meets_the_response_and_nothing_breaches_later(contact, agent):
    from apps.owners.models import Extension, ExtensionOwner

    owner = ExtensionOwner.objects.create(name="Acme", slug="acme")
    extension = Extension.objects.create(name="Acme Stairs", slug="acme-stairs", owner=owner)
    with time_machine.travel("2025-05-19 09:00 +00:00", tick=False):
        ticket = actions.open_ticket(channel="email", contact=contact, subject="", body="hej", external_ref="m9")
    forwarded_at = datetime(2025, 5, 19, 10, 0, tzinfo=UTC)
    with time_machine.travel(forwarded_at, tick=False):
        actions.triage_ticket(ticket=ticket, scope="extension", category="bug", extension=extension,
                              actor=services.Actor(user=agent))
    met = targets(ticket)
    assert ticket.status == "forwarded"
    assert met[Kind.ACKNOWLEDGE].met_at == met[Kind.FIRST_RESPONSE].met_at == forwarded_at
    with time_machine.travel("2025-05-20 09:00 +00:00", tick=False):
        actions.sweep_sla()
    assert not any(target.breached_at for target in ticket.sla_targets.all())


def test_a_late_answer_is_met_and_reported_as_breached(contact, agent):
    with time_machine.travel("2025-05-19 09:00 +00:00", tick=False):
        ticket = actions.open_ticket(channel="chat", contact=contact, subject="", body="hej", external_ref="c2")
    with time_machine.travel("2025-05-19 09:05 +00:00", tick=False):
        actions.add_message(ticket=ticket, direction="outbound", body="Hej!", author_user=agent)
    response = targets(ticket)[Kind.FIRST_RESPONSE]
    assert response.met_at is not None and response.breached


def test_a_missing_policy_keeps_the_ticket_and_says_why(contact):
    SlaPolicy.objects.filter(channel="feedback").delete()
    ticket = actions.open_ticket(channel="feedback", contact=contact, subject="", body="x", external_ref="f1")
    assert ticket.pk and not ticket.sla_targets.exists()
    event = ticket.events.get(kind=TicketEvent.Kind.SLA)
    assert event.data["event"] == "no_clock" and "No SLA policy" in event.data["error"]


@pytest.mark.parametrize("language,region", [("ja", "japan"), ("es", "europe"), ("zh-hans", "malaysia")])
def test_without_entry_point_or_contact_region_the_language_default_applies(db, regions, language, region):
    contact = services.find_or_create_contact(email=f"{language}@example.com", language=language)
    ticket = actions.open_ticket(channel="email", contact=contact, subject="", body="x",
                                  external_ref=f"lang-{language}")
    assert ticket.region.slug == region
    assert targets(ticket)[Kind.ACKNOWLEDGE]
