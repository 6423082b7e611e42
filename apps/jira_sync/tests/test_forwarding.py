"""Extension tickets reach their owner's Jira exactly once, whatever fails on the way.

The real ``jira`` library talks over HTTP to the stand-in (``standin.py``); deliveries run
as the outbox's sweep runs them (``deliver_due``), with time moved past each retry delay.
"""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command
from django.db import connection

from apps.desk import actions
from apps.jira_sync.models import JiraConnection, JiraLink
from apps.jira_sync.tests.helpers import NOW, configure, extension_ticket, sweep_until_quiet
from apps.outbox import services as outbox
from apps.outbox.models import OutboxItem
from apps.owners.models import Extension
from apps.tickets.models import Message, Ticket, TicketEvent
from apps.tickets.services import Actor


def test_an_extension_ticket_becomes_one_labelled_issue_with_the_users_words_and_a_link_back(
        contact, acme, jira, manager):
    configure("acme", jira)
    ticket = extension_ticket(contact, acme)
    assert ticket.status == "forwarded"
    told = ticket.messages.get(direction=Message.Direction.OUTBOUND, automatic=True)
    assert ticket.reference in told.body_text and "Acme Charts" in told.body_text and "kontakta" in told.body_text
    sweep_until_quiet()
    [issue] = jira.issues.values()
    assert f"supportdesk-{ticket.reference}" in issue.labels and issue.project == "SUP"
    assert issue.issuetype == "Task"
    assert "Diagrammet blir tomt efter uppdateringen." in issue.fields["description"]
    assert f"/console/tickets/{ticket.reference}/" in str(issue.remote_links)
    link = JiraLink.objects.get(ticket=ticket)
    assert (link.state, link.issue_key, link.extras_sent) == ("created", issue.key, True)
    created = ticket.events.get(kind=TicketEvent.Kind.FORWARDING, data__event="created")
    assert created.data["issue"] == issue.key


def test_a_create_whose_answer_is_lost_is_found_by_its_label_not_made_twice(contact, acme, jira):
    configure("acme", jira)
    ticket = extension_ticket(contact, acme)
    jira.lose_next_create_response(1)
    sweep_until_quiet()
    assert (jira.create_calls, len(jira.issues)) == (1, 1)
    assert JiraLink.objects.get(ticket=ticket).issue_key == next(iter(jira.issues))
    attempts = ticket.events.filter(kind=TicketEvent.Kind.FORWARDING, data__event="attempt")
    assert [event.data["outcome"] for event in attempts] == ["retry"]


def test_the_first_retry_waits_exactly_jira_retry_base_seconds(contact, acme, jira, settings):
    settings.JIRA_RETRY_BASE_SECONDS = 45
    configure("acme", jira)
    ticket = extension_ticket(contact, acme)
    jira.fail_next(1, 503, path_contains="/issue")
    with time_machine.travel(NOW, tick=False):
        outbox.deliver_due()
    item = OutboxItem.objects.get(kind="jira.forward", key=str(ticket.pk))
    assert (item.status, item.next_attempt_at) == ("pending", NOW + timedelta(seconds=45))
    with time_machine.travel(NOW + timedelta(seconds=44), tick=False):
        assert outbox.deliver_due() == {}
    with time_machine.travel(NOW + timedelta(seconds=45), tick=False):
        outbox.deliver_due()
    assert JiraLink.objects.get(ticket=ticket).issue_key


def test_retry_after_is_honoured_and_the_first_delay_is_jira_retry_base_seconds(contact, acme, jira, settings):
    configure("acme", jira)
    ticket = extension_ticket(contact, acme)
    jira.fail_next(1, 503, retry_after=120, path_contains="/issue")
    with time_machine.travel(NOW, tick=False):
        outbox.deliver_due()
    item = OutboxItem.objects.get(kind="jira.forward", key=str(ticket.pk))
    assert (item.status, item.next_attempt_at) == ("pending", NOW + timedelta(seconds=120))
    jira.fail_next(1, 500, path_contains="/issue")
    with time_machine.travel(NOW + timedelta(seconds=120), tick=False):
        outbox.deliver_due()
    item.refresh_from_db()
    delay = (item.next_attempt_at - (NOW + timedelta(seconds=120))).total_seconds()
    assert settings.JIRA_RETRY_BASE_SECONDS <= delay <= 2 * settings.JIRA_RETRY_BASE_SECONDS   # second attempt
    assert item.expires_at == NOW + timedelta(seconds=settings.JIRA_MAX_AGE_SECONDS)


def test_a_configuration_error_stops_flags_the_ticket_and_alerts_the_manager(contact, acme, jira, manager):
    configure("acme", jira, project="NOPE")
    ticket = extension_ticket(contact, acme)
    sweep_until_quiet()
    assert not jira.issues
    assert OutboxItem.objects.get(kind="jira.forward").status == "dead"
    link = JiraLink.objects.get(ticket=ticket)
    assert link.state == "failed" and "400" in link.last_error
    alert = OutboxItem.objects.get(kind="email", key=f"jira-failed:{ticket.pk}")
    assert alert.payload["to"] == ["usm@example.com"] and ticket.reference in alert.payload["subject"]
    configure("acme", jira, project="SUP")                # corrected: the failed forward goes out
    sweep_until_quiet()
    assert len(jira.issues) == 1 and JiraLink.objects.get(ticket=ticket).state == "created"


def test_an_outage_that_outlasts_the_time_limit_ends_by_itself_when_jira_answers_again(contact, acme, jira, settings):
    from apps.jira_sync.reconcile import reconcile

    settings.JIRA_MAX_AGE_SECONDS = 3600
    configure("acme", jira)
    jira.fail_next(10_000, 503)                                  # Jira is away for the day
    ticket = extension_ticket(contact, acme)
    sweep_until_quiet(minutes=30)
    item = OutboxItem.objects.get(kind="jira.forward")
    assert (item.status, item.timed_out) == ("dead", True) and "gave up after" in item.last_error
    with time_machine.travel(NOW + timedelta(hours=6), tick=False):
        assert reconcile()["resent"] == 0                        # asked, still away: the letter stays listed
    assert OutboxItem.objects.get(pk=item.pk).status == "dead"
    jira.reset()                                                 # back
    with time_machine.travel(NOW + timedelta(hours=7), tick=False):
        assert reconcile()["resent"] == 1
        outbox.deliver_due()
    assert [issue.labels[0] for issue in jira.issues.values()] == [f"supportdesk-{ticket.reference}"]
    assert OutboxItem.objects.get(pk=item.pk).status == "sent"


def test_a_forward_that_goes_through_sends_the_owners_timed_out_ones_again(contact, acme, jira, settings):
    settings.JIRA_MAX_AGE_SECONDS = 3600
    configure("acme", jira)
    jira.fail_next(10_000, 503)
    first = extension_ticket(contact, acme, ref="m1")
    sweep_until_quiet(minutes=30)
    assert OutboxItem.objects.get(kind="jira.forward", key=str(first.pk)).timed_out
    jira.reset()
    second = extension_ticket(contact, acme, ref="m2")
    sweep_until_quiet()
    assert sorted(issue.labels[0] for issue in jira.issues.values()) == sorted(
        f"supportdesk-{ticket.reference}" for ticket in (first, second))


def test_a_forward_refused_for_good_is_not_sent_again_by_itself(contact, acme, jira, settings):
    from apps.jira_sync.reconcile import reconcile

    configure("acme", jira, project="NOPE")
    extension_ticket(contact, acme)
    sweep_until_quiet()
    item = OutboxItem.objects.get(kind="jira.forward")
    assert (item.status, item.timed_out) == ("dead", False)
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        assert reconcile()["resent"] == 0
    assert OutboxItem.objects.get(pk=item.pk).status == "dead" and not jira.issues


def test_without_a_connection_the_forward_waits_and_goes_out_once_configured(contact, acme, jira, manager):
    ticket = extension_ticket(contact, acme)
    assert JiraLink.objects.get(ticket=ticket).state == "waiting"
    assert OutboxItem.objects.filter(kind="email", key=f"jira-waiting:{ticket.pk}").exists()
    assert not OutboxItem.objects.filter(kind="jira.forward").exists()
    configure("acme", jira)
    sweep_until_quiet()
    assert [issue.labels[0] for issue in jira.issues.values()] == [f"supportdesk-{ticket.reference}"]


def test_core_tickets_and_trained_specialist_questions_stay_with_the_vendor(contact, acme, jira):
    configure("acme", jira)
    Extension.objects.filter(pk=acme.pk).update(trained_specialist=True)
    acme.refresh_from_db()
    question = extension_ticket(contact, acme, ref="q1", category="functionality_question")
    with time_machine.travel(NOW, tick=False):
        core = actions.open_ticket(channel="email", contact=contact, subject="x", body="y", external_ref="c1")
        actions.triage_ticket(ticket=core, scope="core", category="bug", actor=Actor(label="test"))
    assert Ticket.objects.get(pk=question.pk).status == "new" and Ticket.objects.get(pk=core.pk).status == "new"
    assert not JiraLink.objects.exists() and not OutboxItem.objects.filter(kind="jira.forward").exists()


def test_thirty_percent_failures_still_give_exactly_one_issue_per_ticket(contact, acme, jira):
    configure("acme", jira)
    tickets = [extension_ticket(contact, acme, ref=f"m{n}") for n in range(40)]
    jira.fail_ratio(0.3, seed=7, statuses=(500, 503, 429, "lost"))
    sweep_until_quiet(rounds=60)
    labels = sorted(label for issue in jira.issues.values() for label in issue.labels)
    assert labels == sorted(f"supportdesk-{ticket.reference}" for ticket in tickets)      # 40, none twice
    assert set(JiraLink.objects.values_list("state", flat=True)) == {"created"}


def test_the_owners_secrets_are_encrypted_at_rest(acme, jira):
    configure("acme", jira)
    with connection.cursor() as cursor:
        cursor.execute("SELECT token, webhook_secret FROM jira_sync_jiraconnection")
        token, secret = cursor.fetchone()
    assert "s3cret-token" not in token and secret != "hook"
    stored = JiraConnection.objects.get()
    assert (stored.token, stored.webhook_secret) == ("s3cret-token", "hook")


def test_configure_jira_refuses_an_unknown_owner_or_a_bad_address(acme):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="No extension owner 'nobody'"):
        call_command("configure_jira", "nobody", "--url", "https://x.example", "--project", "S", "--pat", "t",
                     "--webhook-secret", "h")
    with pytest.raises(CommandError, match="Not a web address"):
        call_command("configure_jira", "acme", "--url", "jira here", "--project", "S", "--pat", "t",
                     "--webhook-secret", "h")
    assert not mail.outbox


def test_a_link_back_whose_answer_is_lost_is_not_added_twice(contact, acme, jira):
    configure("acme", jira)
    extension_ticket(contact, acme)
    jira.fail_next(1, "lost", path_contains="/remotelink", method="POST")
    sweep_until_quiet()
    [issue] = jira.issues.values()
    assert len(issue.remote_links) == 1 and jira.create_calls == 1
