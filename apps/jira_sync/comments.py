"""The user's words and the notes agents share, as comments on the owner's Jira issue, through the outbox.

Each comment ends with a marker naming the ticket and the message; after an unclear
attempt (a lost response) the issue's comments are read for it before posting again,
so a message is one comment, ever. The comment's id is kept (``JiraComment``): when Jira
sends the comment back as a webhook, the desk knows it is its own.
"""

import requests
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from jira.exceptions import JIRAError

from apps.accounts.names import display_name
from apps.jira_sync.client import client_for
from apps.jira_sync.models import JiraComment, JiraConnection, JiraLink
from apps.outbox import registry
from apps.outbox.services import send_later
from apps.tickets.models import Message

KIND = "jira.comment"


def on_owner_message(*, ticket, message, **_signal) -> None:
    """Inside the transaction that stored ``message``: its comment waits in the outbox."""
    send_later(kind=KIND, key=f"message:{message.pk}", payload={"message": message.pk})


def marker(message: Message) -> str:
    return f"[supportdesk {message.ticket.reference} #{message.pk}]"


def deliver_comments(items) -> list[registry.Outcome]:
    return [_deliver(item) for item in items]


def describe_comments(items) -> list[str]:
    messages = Message.objects.in_bulk([item.payload.get("message") for item in items])
    return [f"{messages[item.payload['message']].ticket.reference} #{item.payload['message']}"
            if item.payload.get("message") in messages else item.key for item in items]


def _deliver(item) -> registry.Outcome:
    message = (Message.objects.select_related("ticket", "author_user", "author_contact")
               .filter(pk=item.payload.get("message")).first())
    if message is None:
        return registry.Dead("the message is gone")
    if JiraComment.objects.filter(message=message).exists():
        return registry.Sent()
    link = JiraLink.objects.filter(ticket_id=message.ticket_id).select_related("owner").first()
    if link is None or link.state in (JiraLink.State.RETURNED, JiraLink.State.FAILED):
        return registry.Dead(_("the ticket has no Jira issue to comment on"))
    if not link.issue_key:
        return registry.Retry("the Jira issue is not created yet")
    connection = JiraConnection.objects.filter(owner=link.owner).first()
    if connection is None:
        return registry.Retry(f"{link.owner} has no Jira connection")
    try:
        client = client_for(connection)
        comment_id = _already_posted(client, link, message) if item.attempts > 1 else None
        if comment_id is None:
            comment_id = client.add_comment(link.issue_key, _body(message)).id
    except JIRAError as error:
        described = f"Jira answered {error.status_code}: {error.text or error}"[:2000]
        if error.status_code in (400, 401, 403, 404):
            return registry.Dead(described)
        return registry.Retry(described)
    except requests.RequestException as error:
        return registry.Retry(f"{type(error).__name__}: {error}")
    JiraComment.objects.get_or_create(message=message, defaults={
        "link": link, "comment_id": str(comment_id), "posted_by_desk": True})
    return registry.Sent()


def _already_posted(client, link: JiraLink, message: Message) -> str | None:
    wanted = marker(message)
    for comment in client.comments(link.issue_key):
        if wanted in (comment.body or ""):
            return comment.id
    return None


def _body(message: Message) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        if message.direction == Message.Direction.INBOUND:
            who = message.author_contact or message.ticket.contact
            intro = _("%(name)s (the user) wrote by %(channel)s at %(time)s:") % {
                "name": who.name or who.email or who.phone, "channel": message.get_channel_display(),
                "time": f"{message.created_at:%Y-%m-%d %H:%M} UTC"}
        else:
            intro = _("%(name)s (support desk) shares a note:") % {
                "name": display_name(message.author_user) if message.author_user else _("the desk")}
    return f"{intro}\n\n{message.body_text.strip()}\n\n{marker(message)}"
