"""Forwarding an extension ticket into its owner's Jira, through the outbox.

Triage queues the forward in its own transaction (``on_forward_requested``); a worker
delivers it (``deliver_forwards``). At most one issue per ticket, ever: the issue is
labelled ``supportdesk-<REFERENCE>`` at creation, and after any attempt whose outcome
was unclear (a timeout, a lost response) the label is searched before creating again.
Passing failures are retried by the outbox (JIRA_RETRY_BASE_SECONDS, Retry-After, for
JIRA_MAX_AGE_SECONDS); a configuration error (bad project, bad credentials) stops,
flags the ticket and alerts the User Support Manager. Every attempt is on the ticket.
"""

import logging

import requests
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone, translation
from jira.exceptions import JIRAError

from apps.desk import actions
from apps.jira_sync import alerts
from apps.jira_sync.client import client_for, find_issue, label_of
from apps.jira_sync.models import JiraConnection, JiraLink
from apps.outbox import registry
from apps.outbox.models import OutboxItem
from apps.outbox.services import retry, send_later
from apps.tickets.models import Message

log = logging.getLogger(__name__)

KIND = "jira.forward"
SUMMARY_LIMIT = 255             # Jira refuses a longer summary
CONFIGURATION_ERRORS = {400, 401, 403, 404}


def retry_base_seconds() -> float:
    return settings.JIRA_RETRY_BASE_SECONDS


def max_age_seconds() -> float:
    return settings.JIRA_MAX_AGE_SECONDS


def on_forward_requested(*, ticket, **_signal) -> None:
    """Inside the triage's transaction: the ticket's link, and its forward in the outbox (or a wait)."""
    owner = ticket.extension.owner
    link, _created = JiraLink.objects.get_or_create(ticket=ticket, defaults={"owner": owner})
    if link.issue_key:
        return
    if not JiraConnection.objects.filter(owner=owner).exists():
        JiraLink.objects.filter(pk=link.pk).update(state=JiraLink.State.WAITING)
        actions.record_forwarding(ticket=ticket, data={"event": "waiting", "owner": owner.slug})
        alerts.tell_managers_waiting(ticket=ticket, owner=owner)
        return
    JiraLink.objects.filter(pk=link.pk).update(state=JiraLink.State.QUEUED, last_error="")
    item = send_later(kind=KIND, key=str(ticket.pk), payload={"ticket": ticket.pk})
    if item.status == OutboxItem.Status.DEAD:
        retry(item_id=item.pk)          # triaged again after a failed forward: try once more


def forward_waiting(*, owner) -> int:
    """The owner's connection is configured now: forward what waited for it (or failed on its configuration)."""
    waiting = list(JiraLink.objects.filter(owner=owner, issue_key="",
                                           state__in=[JiraLink.State.WAITING, JiraLink.State.FAILED])
                   .select_related("ticket__extension__owner"))
    for link in waiting:
        with transaction.atomic():
            on_forward_requested(ticket=link.ticket)
    return len(waiting)


def deliver_forwards(items: list[OutboxItem]) -> list[registry.Outcome]:
    return [_deliver(item) for item in items]


def describe_forwards(items: list[OutboxItem]) -> list[str]:
    links = {link.ticket_id: link for link in JiraLink.objects.filter(
        ticket_id__in=[item.payload.get("ticket") for item in items]).select_related("ticket", "owner")}
    described = []
    for item in items:
        link = links.get(item.payload.get("ticket"))
        described.append(f"{link.ticket.reference} → {link.owner}" if link else f"ticket {item.payload.get('ticket')}")
    return described


def _deliver(item: OutboxItem) -> registry.Outcome:
    link = (JiraLink.objects.select_related("ticket__extension", "ticket__contact", "ticket__region", "owner")
            .filter(ticket_id=item.payload.get("ticket")).first())
    if link is None:
        return registry.Dead("the ticket has no Jira link any more")
    connection = JiraConnection.objects.filter(owner=link.owner).first()
    if connection is None:
        JiraLink.objects.filter(pk=link.pk).update(state=JiraLink.State.WAITING)
        return registry.Dead(f"{link.owner} has no Jira connection yet")
    try:
        outcome = _forward(item, link, connection)
    except JIRAError as error:
        outcome = _judge(error, link)
    except requests.RequestException as error:      # timeouts, refused or reset connections, lost responses
        outcome = registry.Retry(f"{type(error).__name__}: {error}")
    if not isinstance(outcome, registry.Sent):
        JiraLink.objects.filter(pk=link.pk).update(last_error=outcome.error[:2000])
        actions.record_forwarding(ticket=link.ticket, data={
            "event": "attempt", "attempt": item.attempts, "outcome": type(outcome).__name__.lower(),
            "error": outcome.error[:500]})
    return outcome


def _forward(item: OutboxItem, link: JiraLink, connection: JiraConnection) -> registry.Outcome:
    client = client_for(connection)
    ticket = link.ticket
    if not link.issue_key:
        # Only a first attempt may create blindly: any earlier one may have created it.
        key = find_issue(client, project_key=connection.project_key, ticket=ticket) if item.attempts > 1 else None
        if key is None:
            key = client.create_issue(fields=_fields(connection, ticket), prefetch=False).key
        link.issue_key, link.state, link.forwarded_at, link.last_error = key, JiraLink.State.CREATED, timezone.now(), ""
        # Stored at once: whatever fails after this, the issue is never made again.
        link.save(update_fields=["issue_key", "state", "forwarded_at", "last_error"])
        actions.record_forwarding(ticket=ticket, data={"event": "created", "issue": key, "attempt": item.attempts})
    if not link.extras_sent:
        _send_extras(client, link, retried=item.attempts > 1)
        JiraLink.objects.filter(pk=link.pk).update(extras_sent=True)
    return registry.Sent()


def _fields(connection: JiraConnection, ticket) -> dict:
    with translation.override(settings.LANGUAGE_CODE):
        description = render_to_string("jira_sync/description.txt", {
            "ticket": ticket, "messages": _conversation(ticket), "link": _desk_link(ticket)})
    fields = {
        "project": {"key": connection.project_key},
        "issuetype": {"name": connection.issue_type_for(ticket.category)},
        "summary": f"{ticket.reference} {ticket.subject}".strip()[:SUMMARY_LIMIT],
        "description": description,
        "labels": [label_of(ticket), *connection.labels],
    }
    if ticket.category in connection.priorities:
        fields["priority"] = {"name": connection.priorities[ticket.category]}
    return fields


def _conversation(ticket) -> list[Message]:
    """What the user and the desk said (a chat's transcript, a mail thread); internal notes stay inside."""
    return list(ticket.messages.exclude(direction=Message.Direction.NOTE).select_related("author_user")
                .order_by("created_at", "pk"))


def _desk_link(ticket) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}/console/tickets/{ticket.reference}/"


def _send_extras(client, link: JiraLink, *, retried: bool) -> None:
    """The user's files and a link back to the desk; on a retry, files already on the issue are not sent again."""
    ticket = link.ticket
    files = [attachment for message in ticket.messages.filter(direction=Message.Direction.INBOUND)
             .prefetch_related("attachments") for attachment in message.attachments.all()]
    present = set()
    if files and retried:
        present = {attachment.filename for attachment in
                   getattr(client.issue(link.issue_key, fields="attachment").fields, "attachment", None) or []}
    for attachment in files:
        if attachment.filename in present:
            continue
        with attachment.file.open("rb") as data:
            client.add_attachment(issue=link.issue_key, attachment=data, filename=attachment.filename)
    url = _desk_link(ticket)
    # A remote link POSTed twice is two links: after an unclear attempt, look first.
    if retried and any(getattr(getattr(remote, "object", None), "url", "") == url
                       for remote in client.remote_links(link.issue_key)):
        return
    client.add_simple_link(link.issue_key, {"url": url, "title": f"supportdesk {ticket.reference}"})


def _judge(error: JIRAError, link: JiraLink) -> registry.Outcome:
    described = f"Jira answered {error.status_code}: {error.text or error}"[:2000]
    status = error.status_code or 0
    if status in (429, 503):
        return registry.Retry(described, after=_retry_after(error))
    if status in CONFIGURATION_ERRORS:
        JiraLink.objects.filter(pk=link.pk).update(state=JiraLink.State.FAILED, last_error=described)
        alerts.tell_managers_failed(ticket=link.ticket, owner=link.owner, error=described)
        return registry.Dead(described)
    return registry.Retry(described)


def _retry_after(error: JIRAError) -> float | None:
    value = (getattr(error.response, "headers", None) or {}).get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None
