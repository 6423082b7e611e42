"""Bulk actions on the console's lists, and resolving with an Undo: each ticket through the access rule
and the actions layer."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.console import bulk
from apps.console.tests.helpers import open_email_ticket
from apps.desk import actions
from apps.tickets.models import Ticket, TicketEvent

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
User = get_user_model()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0 + timedelta(hours=1), tick=False):
        yield


def _open(*, language="sv", ref, **changes):
    return open_email_ticket(ref=ref, subject=ref, received_at=T0, language=language, **changes)


@pytest.fixture
def desk(regions, queues, agent):
    colleague = User.objects.create_user("colleague_sv")
    make_agent(user=colleague, languages=["sv"], channels=["email"])
    return {"one": _open(ref="one"), "two": _open(ref="two"), "theirs": _open(ref="theirs", assignee=colleague),
            "german": _open(language="de", ref="german")}


def test_assign_to_me_takes_each_ticket_and_refuses_the_rest(desk, agent):
    refs = [desk[name].reference for name in ("one", "two", "theirs", "german")]
    result = bulk.bulk_act(user=agent, references=refs, action="take")
    assert result.changed == refs[:2]
    assert [ref for ref, _why in result.refused] == refs[2:]
    assert dict(result.refused)[desk["german"].reference] == "not found"   # outside the agent's queues
    assert set(Ticket.objects.filter(assignee=agent).values_list("reference", flat=True)) == set(refs[:2])
    assert Ticket.objects.get(pk=desk["german"].pk).assignee is None
    # Through the actions layer: each take is in the ticket's history, by the agent.
    assert TicketEvent.objects.filter(ticket=desk["one"], actor=agent).exists()


def test_set_status_changes_only_tickets_the_agent_may_act_on(desk, agent, client):
    client.force_login(agent)
    refs = [desk[name].reference for name in ("one", "theirs", "german")]
    response = client.post("/console/bulk/", {"tickets": refs, "action": "pending", "next": "/console/?view=mine"},
                           follow=True)
    assert response.redirect_chain[-1][0] == "/console/?view=mine"
    statuses = dict(Ticket.objects.values_list("reference", "status"))
    assert statuses[refs[0]] == statuses[refs[1]] == "pending"   # the colleague's ticket is in agent_sv's queue
    assert statuses[refs[2]] == "new"
    page = response.content.decode()
    assert f"2 tickets changed: {refs[0]}, {refs[1]}." in page
    assert f"1 ticket refused: {refs[2]} (not found)." in page


def test_a_move_the_workflow_forbids_is_refused_with_its_reason(desk, agent):
    actions.change_status(ticket=desk["one"], to="resolved")
    actions.change_status(ticket=Ticket.objects.get(pk=desk["one"].pk), to="closed")
    result = bulk.bulk_act(user=agent, references=[desk["one"].reference, desk["two"].reference], action="resolved")
    assert result.changed == [desk["two"].reference]
    assert "cannot move" in dict(result.refused)[desk["one"].reference]


def test_an_unknown_bulk_action_or_outsider_is_refused(desk, agent, client):
    client.force_login(agent)
    assert client.post("/console/bulk/", {"tickets": [desk["one"].reference], "action": "delete"}).status_code == 400
    client.post("/console/bulk/", {"tickets": [desk["one"].reference], "action": "resolved",
                                   "next": "https://evil.example/"})
    assert Ticket.objects.get(pk=desk["one"].pk).status == "resolved"
    plain = User.objects.create_user("plain", is_staff=True)
    client.force_login(plain)
    assert client.post("/console/bulk/", {"tickets": [desk["two"].reference], "action": "resolved"}).status_code == 403


def test_resolving_offers_an_undo_that_reopens_it_once(desk, agent, client):
    client.force_login(agent)
    reference = desk["one"].reference
    page = client.post(f"/console/tickets/{reference}/status/", {"status": "resolved"}, follow=True).content.decode()
    assert Ticket.objects.get(pk=desk["one"].pk).status == "resolved"
    assert f"{reference} resolved" in page and 'id="undo-resolve"' in page
    assert 'id="undo-resolve"' not in client.get(f"/console/tickets/{reference}/").content.decode()   # once
    client.post(f"/console/tickets/{reference}/status/", {"status": "open"})
    assert Ticket.objects.get(pk=desk["one"].pk).status == "open"
    assert list(TicketEvent.objects.filter(ticket=desk["one"], kind="status").values_list("data__to", flat=True)
                .order_by("pk"))[-2:] == ["resolved", "open"]


def test_transfer_hands_each_ticket_to_an_agent_who_may_work_it(desk, agent, client):
    colleague = User.objects.get(username="colleague_sv")
    german_agent = User.objects.create_user("agent_de")
    make_agent(user=german_agent, languages=["de"], channels=["email"])
    Ticket.objects.filter(pk=desk["one"].pk).update(assignee=agent)
    client.force_login(agent)
    refs = [desk[name].reference for name in ("one", "theirs", "german")]
    page = client.post("/console/bulk/", {"tickets": refs, "action": "transfer", "agent": colleague.pk},
                       follow=True).content.decode()
    assert Ticket.objects.get(pk=desk["one"].pk).assignee == colleague
    assert f"{desk['theirs'].reference} (already theirs)" in page and f"{desk['german'].reference} (not found)" in page
    # The receiving agent must work the ticket's language and channel.
    result = bulk.bulk_act(user=colleague, references=[desk["one"].reference], action="transfer", to_agent=german_agent)
    assert result.changed == [] and "does not take this language" in dict(result.refused)[desk["one"].reference]
    assert client.post("/console/bulk/", {"tickets": refs, "action": "transfer", "agent": ""}).status_code == 400
