"""Steps the Jira tests share: configure an owner, triage a ticket to it, let the outbox deliver."""

from datetime import UTC, datetime, timedelta

import time_machine
from django.core.management import call_command

from apps.desk import actions
from apps.outbox import services as outbox
from apps.outbox.models import OutboxItem
from apps.tickets.models import Ticket
from apps.tickets.services import Actor

NOW = datetime(2025, 5, 19, 9, 0, tzinfo=UTC)   # a Monday


def configure(owner_slug, jira, project="SUP"):
    with time_machine.travel(NOW, tick=False):
        _configure(owner_slug, jira, project)


def _configure(owner_slug, jira, project):
    call_command("configure_jira", owner_slug, "--url", jira.url, "--project", project,
                 "--email", "desk@example.org", "--api-token", "s3cret-token", "--webhook-secret", "hook")


def extension_ticket(contact, extension, ref="m1", category="bug"):
    with time_machine.travel(NOW, tick=False):
        ticket = actions.open_ticket(channel="email", contact=contact, subject="Diagrammet ritas inte",
                                     body="Diagrammet blir tomt efter uppdateringen.", external_ref=ref)
        actions.triage_ticket(ticket=ticket, scope="extension", category=category, extension=extension,
                              actor=Actor(label="test"))
    return Ticket.objects.get(pk=ticket.pk)


def sweep_until_quiet(minutes=60, rounds=30):
    """Deliver what is due, moving time past every retry delay, until nothing is pending."""
    moment = NOW
    for _ in range(rounds):
        with time_machine.travel(moment, tick=False):
            outbox.deliver_due()
        if not OutboxItem.objects.filter(status=OutboxItem.Status.PENDING).exists():
            return
        moment += timedelta(minutes=minutes)
