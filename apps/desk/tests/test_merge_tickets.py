"""Merging two tickets of one person: the survivor keeps both threads and the Jira issue; a refusal writes nothing."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.chat.models import Conversation
from apps.console import worklists
from apps.console.history import event_detail
from apps.desk import actions
from apps.jira_sync.models import JiraLink
from apps.owners.models import ExtensionOwner
from apps.reports import selectors as reports
from apps.sla.models import SlaTarget
from apps.tickets import services as tickets
from apps.tickets.models import Contact, Message, Ticket, TicketEvent
from apps.tickets.selectors import similar_resolved, ticket_list

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)     # a Tuesday
User = get_user_model()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0 + timedelta(hours=4), tick=False):
        yield


@pytest.fixture
def manager(db):
    user = User.objects.create_user("manager", password="pw")
    make_agent(user=user, languages=["en"], channels=["email"], manager=True)
    return user


def opened(contact, ref, hours, body="Hej.", channel="email"):
    return actions.open_ticket(channel=channel, contact=contact, subject=f"Fråga {ref}", body=body,
                               external_ref=f"<{ref}@example.com>", received_at=T0 + timedelta(hours=hours))


@pytest.fixture
def pair(contact):
    first = opened(contact, "a", 0, body="Exporten kraschar")
    second = opened(contact, "b", 1, body="Samma krasch igen")
    return first, second


def fresh(ticket):
    return Ticket.objects.get(pk=ticket.pk)


def test_the_survivor_keeps_both_threads_in_order_with_their_files(pair, agent):
    first, second = pair
    reply = actions.add_message(ticket=first, direction=Message.Direction.OUTBOUND, body="Vi tittar på det",
                                author_user=agent, created_at=T0 + timedelta(hours=2))
    tickets.add_attachment(message=reply, filename="logg.txt", content_type="text/plain", data=b"ERR")

    survivor = actions.merge_tickets(ticket=first, into=second, user=agent)

    assert survivor.pk == second.pk
    assert list(second.messages.values_list("body_text", flat=True)) == [
        "Exporten kraschar", "Samma krasch igen", "Vi tittar på det"]
    assert second.messages.get(body_text="Vi tittar på det").attachments.get().filename == "logg.txt"
    assert not first.messages.exists()
    merged = fresh(first)
    assert merged.status == Ticket.Status.CLOSED and merged.merged_into_id == second.pk
    # The survivor is found by the merged ticket's words.
    assert second.pk in set(ticket_list(user=agent, q="Exporten").values_list("pk", flat=True))


def test_both_histories_record_the_merge_naming_the_other_ticket(pair, agent):
    first, second = pair
    actions.merge_tickets(ticket=first, into=second, user=agent)

    into = TicketEvent.objects.get(ticket=first, kind=TicketEvent.Kind.MERGED)
    back = TicketEvent.objects.get(ticket=second, kind=TicketEvent.Kind.MERGED)
    assert (into.details.event, into.details.ticket, into.actor_id) == ("into", second.reference, agent.pk)
    assert (back.details.event, back.details.ticket, back.details.messages) == ("from", first.reference, 1)
    assert event_detail(into) == f"merged into {second.reference}, where its messages now are"
    assert event_detail(back) == f"{first.reference} was merged into this ticket; its messages are in this thread"
    status = TicketEvent.objects.get(ticket=first, kind=TicketEvent.Kind.STATUS)
    assert status.data == {"from": "new", "to": "closed", "reason": "merged"}


def test_the_merged_tickets_running_clocks_stop_and_the_survivors_run_on(pair, agent):
    first, second = pair
    actions.merge_tickets(ticket=first, into=second, user=agent)
    assert all(target.not_applicable_at == T0 + timedelta(hours=4) for target in SlaTarget.objects.filter(ticket=first))
    assert not SlaTarget.objects.filter(ticket=second, not_applicable_at__isnull=False).exists()


def assert_nothing_written(*pairs):
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.MERGED).exists()
    for ticket in pairs:
        assert fresh(ticket).merged_into_id is None


def refused(match, **kwargs):
    with pytest.raises(tickets.TicketError, match=match):
        actions.merge_tickets(**kwargs)


def test_a_ticket_is_not_merged_into_itself(pair, agent):
    refused("into itself", ticket=pair[0], into=pair[0], user=agent)
    assert_nothing_written(*pair)


def test_tickets_of_two_people_are_not_merged(pair, agent, regions):
    other = Contact.objects.create(name="Bo", email="bo@example.com", language="sv", region=regions["europe"])
    theirs = opened(other, "c", 2)
    refused("same person", ticket=pair[0], into=theirs, user=agent)
    assert_nothing_written(pair[0], theirs)


def test_a_merged_ticket_is_merged_no_further_and_nothing_is_merged_into_it(contact, pair, agent):
    first, second = pair
    third = opened(contact, "d", 2)
    actions.merge_tickets(ticket=first, into=second, user=agent)
    refused("already merged", ticket=fresh(first), into=third, user=agent)
    refused("already merged", ticket=third, into=fresh(first), user=agent)
    assert fresh(third).merged_into_id is None
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.MERGED).count() == 2


def test_nothing_is_merged_into_a_closed_ticket(pair, agent):
    first, second = pair
    Ticket.objects.filter(pk=second.pk).update(status=Ticket.Status.CLOSED)
    refused("closed", ticket=first, into=second, user=agent)
    assert_nothing_written(*pair)


def test_a_chat_still_going_on_is_not_merged(contact, pair, agent):
    chat = opened(contact, "chat-1", 2, channel="chat")
    conversation = Conversation.objects.create(ticket=chat, language="sv", state=Conversation.State.ACTIVE,
                                               started_at=T0 + timedelta(hours=2))
    refused("still going on", ticket=chat, into=pair[1], user=agent)
    refused("still going on", ticket=pair[1], into=chat, user=agent)
    assert_nothing_written(chat, *pair)
    Conversation.objects.filter(pk=conversation.pk).update(state=Conversation.State.ENDED)
    actions.merge_tickets(ticket=chat, into=pair[1], user=agent)     # once ended, it merges
    assert fresh(chat).merged_into_id == pair[1].pk


def test_an_agent_merges_only_tickets_they_may_act_on_both(contact, pair, manager):
    german = User.objects.create_user("agent_de", password="pw")
    make_agent(user=german, languages=["de"], channels=["email"])
    refused("both of them", ticket=pair[0], into=pair[1], user=german)
    assert_nothing_written(*pair)
    actions.merge_tickets(ticket=pair[0], into=pair[1], user=manager)     # the manager may act on every ticket
    assert fresh(pair[0]).merged_into_id == pair[1].pk


@pytest.fixture
def owner(db):
    return ExtensionOwner.objects.create(name="Acme Plugins", slug="acme")


def test_the_survivor_takes_over_the_merged_tickets_jira_issue(pair, agent, owner):
    first, second = pair
    JiraLink.objects.create(ticket=first, owner=owner, state=JiraLink.State.CREATED, issue_key="ACME-7")
    actions.merge_tickets(ticket=first, into=second, user=agent)
    assert JiraLink.objects.get(issue_key="ACME-7").ticket_id == second.pk


def test_two_tickets_each_with_a_jira_issue_are_not_merged(pair, agent, owner):
    first, second = pair
    JiraLink.objects.create(ticket=first, owner=owner, state=JiraLink.State.CREATED, issue_key="ACME-7")
    JiraLink.objects.create(ticket=second, owner=owner, state=JiraLink.State.CREATED, issue_key="ACME-8")
    refused("ACME-7 and ACME-8", ticket=first, into=second, user=agent)
    assert_nothing_written(*pair)
    assert JiraLink.objects.get(issue_key="ACME-7").ticket_id == first.pk


def test_a_ticket_whose_forward_is_under_way_is_not_merged(pair, agent, owner):
    first, second = pair
    JiraLink.objects.create(ticket=first, owner=owner, state=JiraLink.State.QUEUED)
    refused("still being forwarded", ticket=first, into=second, user=agent)
    assert_nothing_written(*pair)


def reported(start, end, now):
    """The dashboard's decided targets (met or breached) and the references of its breaches."""
    decided = sum(row.met + row.breached for row in reports.sla_compliance(start=start, end=end, by="channel"))
    return decided, {breach.reference for breach in reports.breaches(start=start, end=end, now=now)}


def test_a_merge_never_erases_a_breach_from_the_reports(pair, agent):
    """Both tickets breached before the merge: each was a request the person waited on too long."""
    first, second = pair
    start, end, later = T0 - timedelta(days=1), T0 + timedelta(days=1), T0 + timedelta(days=30)
    actions.sweep_sla(now=later)        # both tickets' targets breached: decided, so merging does not set them aside
    before = reported(start, end, later)
    assert before[1] == {first.reference, second.reference}
    queued = worklists.counts(user=agent)["queue"]

    actions.merge_tickets(ticket=first, into=second, user=agent)

    assert reported(start, end, later) == before
    assert worklists.counts(user=agent)["queue"] == queued - 1
    assert worklists.counts(user=agent)["resolved"] == 0     # closed by the merge, yet not work done twice


def test_a_duplicate_merged_in_time_is_counted_once_as_its_survivor(pair, agent):
    first, second = pair
    start, end = T0 - timedelta(days=1), T0 + timedelta(days=1)
    decided, _breaches = reported(start, end, T0 + timedelta(hours=4))
    assert decided == 0

    actions.merge_tickets(ticket=first, into=second, user=agent)     # first's clocks still running: set aside
    later = T0 + timedelta(days=30)
    actions.sweep_sla(now=later)
    decided, breaches = reported(start, end, later)
    assert breaches == {second.reference}
    assert decided == SlaTarget.objects.filter(ticket=second).count()


def test_a_merged_ticket_is_no_similar_resolved_ticket(contact, pair, agent):
    first, second = pair
    actions.merge_tickets(ticket=first, into=second, user=agent)
    third = opened(contact, "e", 3, body="Exporten kraschar")
    Ticket.objects.filter(pk=second.pk).update(status=Ticket.Status.RESOLVED)
    assert [t.pk for t in similar_resolved(third, user=agent)] == [second.pk]     # closed by the merge, not resolved
