"""The sweep: breaches and warnings marked once, logged, and mailed by a real rq worker."""

from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.desk.actions import sweep_sla
from apps.outbox.services import deliver_due
from apps.sla import notifications
from apps.sla.models import SlaTarget
from apps.tickets.models import TicketEvent
from conftest import run_worker

RECEIVED = datetime(2025, 5, 19, 9, 0, tzinfo=UTC)   # Monday 11:00 in Stockholm


def open_chat(contact, ref):
    with time_machine.travel(RECEIVED, tick=False):
        return actions.open_ticket(channel="chat", contact=contact, subject="Hjälp", body="hej",
                                    external_ref=ref)


def test_sweep_marks_warnings_then_breaches_once(contact):
    ticket = open_chat(contact, "c1")
    response = ticket.sla_targets.get(kind="first_response")
    assert sweep_sla(now=datetime(2025, 5, 19, 9, 0, 40, tzinfo=UTC)).warned == []
    assert sweep_sla(now=datetime(2025, 5, 19, 9, 0, 45, tzinfo=UTC)).warned == [response.pk]   # 75 % of 60 s
    assert sweep_sla(now=datetime(2025, 5, 19, 9, 0, 50, tzinfo=UTC)).warned == []
    assert sweep_sla(now=datetime(2025, 5, 19, 9, 1, tzinfo=UTC)).breached == [response.pk]
    assert sweep_sla(now=datetime(2025, 5, 19, 9, 2, tzinfo=UTC)).breached == []
    response.refresh_from_db()
    assert response.breached_at == datetime(2025, 5, 19, 9, 1, tzinfo=UTC)
    events = [e.data["event"] for e in ticket.events.filter(kind=TicketEvent.Kind.SLA).order_by("pk")]
    assert events == ["warning", "breached"]


def test_met_targets_are_never_breached(contact, agent):
    ticket = open_chat(contact, "c2")
    with time_machine.travel(datetime(2025, 5, 19, 9, 0, 30, tzinfo=UTC), tick=False):
        actions.add_message(ticket=ticket, direction="outbound", body="Hej", author_user=agent)
    result = sweep_sla(now=datetime(2025, 5, 30, tzinfo=UTC))
    assert (result.breached, result.warned) == ([], [])
    assert not ticket.sla_targets.filter(breached_at__isnull=False).exists()


def test_sweep_queries_do_not_grow_with_open_tickets(contact):
    for i in range(30):
        open_chat(contact, f"bulk-{i}")
    with CaptureQueriesContext(connection) as few:
        sweep_sla(now=datetime(2025, 5, 19, 9, 2, tzinfo=UTC))
    for i in range(30, 90):
        open_chat(contact, f"bulk-{i}")
    with CaptureQueriesContext(connection) as many:
        sweep_sla(now=datetime(2025, 5, 19, 9, 3, tzinfo=UTC))
    assert len(many.captured_queries) == len(few.captured_queries)


def test_notifications_reach_queue_agents_and_the_manager_through_a_real_worker(
        contact, redis_queues, django_capture_on_commit_callbacks, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    users = get_user_model().objects
    sv_agent = users.create_user("sv", email="sv@example.com")
    make_agent(user=sv_agent, languages=["sv"], channels=["chat"], time_zone="Europe/Stockholm")
    de_agent = users.create_user("de", email="de@example.com")
    make_agent(user=de_agent, languages=["de"], channels=["chat"])
    manager = users.create_user("manager", email="usm@example.com")
    make_agent(user=manager, languages=["en"], channels=["email"], manager=True)
    users.create_superuser("root", email="root@example.com")       # a manager too, by the one rule
    ticket = open_chat(contact, "c3")

    with django_capture_on_commit_callbacks(execute=True):
        sweep_sla(now=datetime(2025, 5, 19, 9, 5, tzinfo=UTC))
    run_worker("sla")
    deliver_due()                                 # the notices wait in the outbox (embedded: sent already)
    assert len(mail.outbox) == 3
    breached = list(SlaTarget.objects.filter(breached_at__isnull=False).values_list("pk", flat=True))
    assert notifications.notify(warned_ids=[], breached_ids=breached) == 3    # the job run again…
    deliver_due()
    assert len(mail.outbox) == 3                                                 # …sends nothing twice

    by_recipient = {message.to[0]: message for message in mail.outbox}
    assert set(by_recipient) == {"sv@example.com", "usm@example.com", "root@example.com"}
    swedish = by_recipient["sv@example.com"]
    assert ticket.reference in swedish.subject and "SLA" in swedish.subject
    assert "11:01" in swedish.body           # due time shown in the agent's zone (Stockholm)
    assert f"/console/tickets/{ticket.reference}/" in swedish.body and "/admin/" not in swedish.body


@pytest.mark.redis(reason="counts the jobs on the rq queues")
def test_a_rollback_leaves_no_notification_job(contact, redis_queues, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        open_chat(contact, "c4")
        sweep_sla(now=datetime(2025, 5, 19, 9, 5, tzinfo=UTC))
    # One announcement of the transaction's ticket events (consoles) and the notification, both only on commit.
    assert len(callbacks) == 2
    assert redis_queues.get_queue("sla").count == 0
    assert redis_queues.get_queue("default").count == 0


def test_targets_are_ordered_for_the_index(db):
    index_names = {index.name for index in SlaTarget._meta.indexes}
    assert {"sla_running_due", "sla_running_warn"} <= index_names
