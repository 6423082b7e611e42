"""The owner's progress comes back from Jira: signed webhooks, one effect per delivery, the status follows.

Bodies are what the stand-in's issues look like in Jira Cloud's webhooks
(``standin.webhook_payload``), signed as an admin webhook with a secret signs them.
"""

import itertools
from datetime import timedelta

import pytest
import time_machine
from django.core import mail

from apps.desk import actions
from apps.jira_sync.models import JiraComment, JiraConnection, JiraLink, WebhookDelivery
from apps.jira_sync.reconcile import reconcile
from apps.jira_sync.tests.helpers import NOW, configure, extension_ticket, sweep_until_quiet
from apps.jira_sync.tests.standin_webhooks import signed
from apps.outbox import services as outbox
from apps.outbox.models import OutboxItem
from apps.tickets.models import Message, Ticket, TicketEvent

_deliveries = itertools.count(1)


@pytest.fixture
def forwarded(contact, acme, jira, manager):
    """An extension ticket whose issue exists in the owner's Jira; (ticket, issue key)."""
    configure("acme", jira)
    ticket = extension_ticket(contact, acme)
    sweep_until_quiet()
    mail.outbox.clear()
    return Ticket.objects.get(pk=ticket.pk), JiraLink.objects.get(ticket=ticket).issue_key


def deliver(client, body: dict, *, secret="hook", delivery_id=None, owner="acme", headers=None, at=NOW):
    raw, signed_headers = signed(body, secret, delivery_id=delivery_id or f"delivery-{next(_deliveries)}")
    with time_machine.travel(at + timedelta(minutes=5), tick=False):
        return client.post(f"/jira/webhook/{owner}/", data=raw, content_type="application/json",
                           headers=signed_headers if headers is None else headers)


def moved(jira, key, name, category, **kwargs):
    item = jira.set_status(key, name, category, **kwargs)
    return jira.webhook_payload("jira:issue_updated", key, changelog_items=[item], **_stamp())


_stamps = itertools.count(1_796_000_000_000, 1000)


def _stamp():
    return {"timestamp_ms": next(_stamps)}


def test_unsigned_wrongly_signed_and_unknown_owner_deliveries_change_nothing(client, forwarded, jira):
    ticket, key = forwarded
    body = moved(jira, key, "Done", "done")
    raw, headers = signed(body, "hook", delivery_id="d-1")
    unsigned = {name: value for name, value in headers.items() if name != "X-Hub-Signature"}
    assert client.post("/jira/webhook/acme/", data=raw, content_type="application/json",
                       headers=unsigned).status_code == 401
    assert deliver(client, body, secret="not-the-secret").status_code == 403
    assert deliver(client, body, owner="nobody").status_code == 404
    tampered = dict(headers)
    assert client.post("/jira/webhook/acme/", data=raw.replace(b"Done", b"Dome"), content_type="application/json",
                       headers=tampered).status_code == 403
    ticket.refresh_from_db()
    assert ticket.status == "forwarded" and not WebhookDelivery.objects.exists()


def test_the_status_follows_jiras_status_category_resolved_and_reopened(client, forwarded, jira):
    ticket, key = forwarded
    assert deliver(client, moved(jira, key, "In Progress", "indeterminate")).status_code == 200
    ticket.refresh_from_db()
    assert ticket.status == "forwarded"
    assert deliver(client, moved(jira, key, "Done", "done", resolution="Fixed")).json()["detail"] == "status resolved"
    ticket.refresh_from_db()
    assert ticket.status == "resolved" and ticket.resolved_at is not None
    resolved = ticket.events.filter(kind=TicketEvent.Kind.STATUS).latest("pk")
    assert resolved.data["to"] == "resolved" and "Fixed" in resolved.data["reason"]
    assert key in resolved.actor_label
    deliver(client, moved(jira, key, "Reopened", "new"))
    ticket.refresh_from_db()
    assert (ticket.status, ticket.resolved_at) == ("forwarded", None)
    assert JiraLink.objects.get(ticket=ticket).issue_status == "Reopened"


def test_a_repeated_delivery_has_one_effect_and_an_older_one_is_not_applied(client, forwarded, jira):
    ticket, key = forwarded
    done = moved(jira, key, "Done", "done")
    assert deliver(client, done, delivery_id="same").status_code == 200
    deliver(client, moved(jira, key, "Reopened", "new"))
    assert deliver(client, done, delivery_id="same").json()["detail"] == "repeat"      # Jira's retry
    ticket.refresh_from_db()
    assert ticket.status == "forwarded"
    assert deliver(client, done).json()["detail"] == "older than the state applied"   # out of order
    ticket.refresh_from_db()
    assert ticket.status == "forwarded"
    assert ticket.events.filter(kind=TicketEvent.Kind.STATUS, data__to="resolved").count() == 1


def test_a_comment_becomes_an_internal_note_once_and_one_for_the_user_is_mailed_signed(client, forwarded, jira):
    ticket, key = forwarded
    comment = jira.add_comment_as(key, "Olle Owner", "Reproduced with 2.3; fix in next release.")
    body = jira.webhook_payload("comment_created", key, comment=comment)
    assert deliver(client, body).json()["detail"] == "note added"
    assert deliver(client, body).json()["detail"] == "comment known"     # a second delivery id, same comment
    [note] = ticket.messages.filter(direction=Message.Direction.NOTE)
    assert "Reproduced with 2.3" in note.body_text and "Olle Owner" in note.body_text and key in note.body_text
    assert not mail.outbox

    answer = jira.add_comment_as(key, "Olle Owner", "[to user] Uppdatera till 2.4 så ritas diagrammet igen.")
    assert deliver(client, jira.webhook_payload("comment_created", key, comment=answer)).json()["detail"] == (
        "mailed to the user")
    sent = ticket.messages.get(direction=Message.Direction.OUTBOUND, automatic=False)
    assert sent.body_text.startswith("Uppdatera till 2.4") and "[to user]" not in sent.body_text
    assert "Acme Plugins" in sent.body_text and "Acme Charts" in sent.body_text
    sweep_until_quiet()
    [email] = [m for m in mail.outbox if ticket.contact.email in m.to]
    assert ticket.reference in email.subject and "Uppdatera till 2.4" in email.body
    ticket.refresh_from_db()
    assert ticket.status == "forwarded" and ticket.first_response_at is None   # the owner's words meet no vendor SLA


def test_the_desks_own_changes_coming_back_are_ignored(client, forwarded, jira):
    ticket, key = forwarded
    JiraConnection.objects.filter(owner__slug="acme").update(integration_user="557058:integration")
    body = jira.webhook_payload("jira:issue_updated", key, changelog_items=[jira.set_status(key, "Done", "done")],
                                user="Integration", **_stamp())
    body["user"]["accountId"] = "557058:integration"
    assert deliver(client, body).json()["detail"] == "made by the desk's own account"
    ticket.refresh_from_db()
    assert ticket.status == "forwarded"


def test_the_users_mail_and_shared_notes_become_jira_comments_once(client, forwarded, jira, contact):
    ticket, key = forwarded
    with time_machine.travel(NOW + timedelta(minutes=10), tick=False):
        actions.add_message(ticket=ticket, direction=Message.Direction.INBOUND, body="Den är fortfarande tom.",
                            author_contact=contact, external_id="<reply-1@example.org>")
        actions.add_message(ticket=ticket, direction=Message.Direction.NOTE, body="Customer on 2.3.1",
                            author_user=None, shared_with_owner=True)
        actions.add_message(ticket=ticket, direction=Message.Direction.NOTE, body="internal: VIP account")
    jira.fail_next(1, 503, retry_after=1, path_contains="/comment")
    sweep_until_quiet()
    comments = {comment["body"].split("\n")[0]: comment["body"] for comment in jira.issues[key].comments}
    assert len(comments) == 2          # the one that met a 503 was posted once, later
    [users] = [body for body in comments.values() if "Den är fortfarande tom." in body]
    assert f"[supportdesk {ticket.reference} #" in users and users.startswith(contact.name)
    assert any("Customer on 2.3.1" in body for body in comments.values())
    assert not any("VIP" in body for body in comments.values())
    assert JiraComment.objects.filter(posted_by_desk=True).count() == 2
    # Jira sends the desk's own comment back: it is known, not a new note.
    echo = jira.webhook_payload("comment_created", key, comment=jira.issues[key].comments[-1])
    assert deliver(client, echo).json()["detail"] == "comment known"
    assert OutboxItem.objects.filter(kind="jira.comment", status="sent").count() == 2


def test_a_user_writing_after_the_owner_resolved_puts_it_back_with_the_owner(client, forwarded, jira, contact):
    ticket, key = forwarded
    deliver(client, moved(jira, key, "Done", "done"))
    ticket.refresh_from_db()
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        actions.add_message(ticket=ticket, direction=Message.Direction.INBOUND, body="Det hjälpte inte.",
                            author_contact=contact)
    ticket.refresh_from_db()
    assert ticket.status == "forwarded"
    sweep_until_quiet()
    assert "Det hjälpte inte." in jira.issues[key].comments[-1]["body"]


def test_the_not_our_extension_label_returns_the_ticket_to_triage_and_alerts_the_manager(client, forwarded, jira):
    ticket, key = forwarded
    item = jira.add_label(key, "not-our-extension")
    body = jira.webhook_payload("jira:issue_updated", key, changelog_items=[item], **_stamp())
    assert deliver(client, body).json()["detail"] == "returned to triage"
    ticket.refresh_from_db()
    assert (ticket.scope, ticket.extension, ticket.status, ticket.assignee) == ("untriaged", None, "open", None)
    assert ticket.queue.language == ticket.language
    link = JiraLink.objects.get(ticket=ticket)
    assert link.state == "returned" and link.issue_key == key
    returned = ticket.events.get(kind=TicketEvent.Kind.FORWARDING, data__event="returned")
    assert returned.data["issue"] == key and returned.data["extension"] == "acme-charts"
    sweep_until_quiet()
    [alert] = [m for m in mail.outbox if "usm@example.com" in m.to]
    assert ticket.reference in alert.subject and "Acme Plugins" in alert.subject and key in alert.body
    # Later news from Jira no longer moves a ticket that is not the owner's.
    assert deliver(client, moved(jira, key, "Done", "done")).json()["detail"] == "returned to triage already"


def test_a_lost_webhook_only_delays_the_sync_the_reconcile_job_reads_the_issue(forwarded, jira):
    ticket, key = forwarded
    jira.set_status(key, "Done", "done")        # the webhook never arrives
    with time_machine.travel(NOW + timedelta(minutes=20), tick=False):
        counts = reconcile()
    assert counts == {"checked": 1, "changed": 1, "failed_owners": 0, "resent": 0}
    ticket.refresh_from_db()
    assert ticket.status == "resolved"
    jira.fail_next(1, 503, retry_after=1, path_contains="search")
    jira.set_status(key, "Reopened", "new")
    with time_machine.travel(NOW + timedelta(minutes=40), tick=False):
        assert reconcile()["failed_owners"] == 1
        assert reconcile()["changed"] == 1
    ticket.refresh_from_db()
    assert ticket.status == "forwarded"


def test_an_issue_whose_create_answer_was_lost_is_recognised_by_its_label(client, contact, acme, jira, manager):
    configure("acme", jira)
    ticket = extension_ticket(contact, acme)
    jira.lose_next_create_response(1)
    with time_machine.travel(NOW, tick=False):
        outbox.deliver_due()
    assert JiraLink.objects.get(ticket=ticket).issue_key == ""
    [key] = jira.issues
    deliver(client, moved(jira, key, "In Progress", "indeterminate"))
    assert JiraLink.objects.get(ticket=ticket).issue_key == key
    sweep_until_quiet()
    assert len(jira.issues) == 1


def test_the_admins_test_connection_signs_in_and_learns_the_desks_own_account(client, acme, jira):
    from django.contrib.auth import get_user_model

    configure("acme", jira)
    root = get_user_model().objects.create_superuser("root", "root@example.org", "pw")
    client.force_login(root)
    connection = JiraConnection.objects.get(owner__slug="acme")
    page = client.post("/admin/jira_sync/jiraconnection/", {"action": "test_connection",
                                                            "_selected_action": [connection.pk]}, follow=True)
    assert "signed in as Integration; project Project SUP found" in page.content.decode()
    connection.refresh_from_db()
    assert connection.integration_user == "557058:integration"
    JiraConnection.objects.filter(pk=connection.pk).update(project_key="NOPE")
    page = client.post("/admin/jira_sync/jiraconnection/", {"action": "test_connection",
                                                            "_selected_action": [connection.pk]}, follow=True)
    assert "Jira refused (404)" in page.content.decode()
