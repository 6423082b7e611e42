"""The owner's progress in Jira, applied to the ticket: the webhook and the reconcile job both land here.

Status follows Jira's status category (stable across each owner's own workflow names):
``new`` and ``indeterminate`` → forwarded, ``done`` → resolved. The label
``not-our-extension`` returns the ticket to triage. A comment is an internal note, unless
the owner meant it for the user (it begins with the connection's prefix, ``[to user]``
by default; or it is public in a Jira Service Management project that says so): then it
is mailed to the user, signed with the owner's name.
"""

from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from apps.accounts.names import display_name
from apps.desk import actions
from apps.jira_sync.models import JiraComment, JiraConnection, JiraLink
from apps.tickets.models import Ticket
from apps.tickets.services import Actor

NOT_OURS_LABEL = "not-our-extension"
STATUS_BY_CATEGORY = {"new": Ticket.Status.FORWARDED, "indeterminate": Ticket.Status.FORWARDED,
                      "done": Ticket.Status.RESOLVED}
# Work started or done: the owner has acted (the quarterly report counts it pending, not unanswered).
ACTED_CATEGORIES = ("indeterminate", "done")


@dataclass(frozen=True)
class IssueState:
    """What the desk reads of an issue, from a webhook's ``issue`` or from the REST API."""

    key: str
    status: str
    category: str
    resolution: str
    labels: tuple[str, ...]

    @classmethod
    def from_json(cls, issue: dict) -> "IssueState":
        fields = issue.get("fields") or {}
        status = fields.get("status") or {}
        return cls(key=issue.get("key", ""), status=status.get("name", ""),
                   category=(status.get("statusCategory") or {}).get("key", ""),
                   resolution=(fields.get("resolution") or {}).get("name", ""),
                   labels=tuple(fields.get("labels") or ()))


def link_for(owner, issue: dict) -> JiraLink | None:
    """The forward an issue belongs to: by its key, or by the ticket's label when the key was never heard
    (the create's answer was lost and no retry has searched yet)."""
    key = issue.get("key", "")
    links = JiraLink.objects.select_related("ticket", "owner")
    link = links.filter(owner=owner, issue_key=key).first() if key else None
    if link is not None:
        return link
    labels = (issue.get("fields") or {}).get("labels") or []
    references = [label.removeprefix("supportdesk-") for label in labels if label.startswith("supportdesk-")]
    link = links.filter(owner=owner, ticket__reference__in=references, issue_key="").first() if references else None
    if link is not None and key:
        link.issue_key, link.state, link.forwarded_at = key, JiraLink.State.CREATED, timezone.now()
        link.save(update_fields=["issue_key", "state", "forwarded_at"])
    return link


@transaction.atomic
def apply_issue(link: JiraLink, state: IssueState, *, as_of_ms: int, by: str) -> str:
    """Make the ticket follow the issue; an older state than the one applied changes nothing."""
    link = JiraLink.objects.select_for_update().select_related("ticket", "owner").get(pk=link.pk)
    if as_of_ms and as_of_ms < link.issue_state_at:
        return "older than the state applied"
    link.issue_status, link.synced_at = state.status, timezone.now()
    link.issue_state_at = max(link.issue_state_at, as_of_ms)
    if link.owner_acted_at is None and state.category in ACTED_CATEGORIES:
        link.owner_acted_at = link.synced_at
    link.save(update_fields=["issue_status", "synced_at", "issue_state_at", "owner_acted_at"])
    if link.state == JiraLink.State.RETURNED:
        return "returned to triage already"
    actor = Actor(label=f"Jira {state.key} ({by})" if by else f"Jira {state.key}")
    if NOT_OURS_LABEL in state.labels:
        return_to_triage(link, actor=actor, reason=f"{NOT_OURS_LABEL} in {state.key}")
        return "returned to triage"
    to = STATUS_BY_CATEGORY.get(state.category)
    if to is None:
        return f"unknown status category {state.category!r}"
    reason = f"{state.status}: {state.resolution}" if state.resolution else state.status
    moved = actions.follow_owner(ticket=link.ticket, to=to, actor=actor, reason=f"Jira {reason}"[:200])
    return f"status {to}" if moved else "status unchanged"


def return_to_triage(link: JiraLink, *, actor: Actor, reason: str) -> None:
    """The owner says the ticket is not theirs (the portal's button or the Jira label)."""
    actions.return_to_triage(ticket=link.ticket, actor=actor, reason=reason)


def on_misassigned(*, ticket, extension, actor, **_signal) -> None:
    """Subscriber of ``desk.signals.misassigned``: the link is noted as returned; the manager is alerted."""
    from apps.jira_sync import alerts

    JiraLink.objects.filter(ticket=ticket).update(state=JiraLink.State.RETURNED)
    link = JiraLink.objects.filter(ticket=ticket).first()
    actions.record_forwarding(ticket=ticket, data={
        "event": "returned", "issue": link.issue_key if link else "", "extension": extension.slug,
        "by": actor.label or (display_name(actor.user) if actor.user else "")})
    alerts.tell_managers_misassigned(ticket=ticket, extension=extension, issue=link.issue_key if link else "",
                                     by=actor)


def apply_comment(link: JiraLink, connection: JiraConnection, comment: dict) -> str:
    """A comment written in Jira: a note for the agents, or an answer the desk mails to the user."""
    comment_id = str(comment.get("id", ""))
    if not comment_id or JiraComment.objects.filter(link=link, comment_id=comment_id).exists():
        return "comment known"        # ours coming back, or a repeat
    body = comment.get("body") or ""
    if not isinstance(body, str):      # Atlassian Document Format (API v3 webhooks): its text
        body = _adf_text(body)
    author = (comment.get("author") or {}).get("displayName") or link.owner.name
    prefix = connection.user_prefix.strip()
    to_user = bool(prefix and body.lstrip().lower().startswith(prefix.lower())) or (
        connection.public_comments_to_user and comment.get("jsdPublic") is True)
    ticket = link.ticket
    external_id = f"jira:{link.owner.slug}:{link.issue_key}:comment:{comment_id}"
    with transaction.atomic():
        if to_user and not link.answers_elsewhere:
            text = body.lstrip()[len(prefix):].strip() if prefix and body.lstrip().lower().startswith(
                prefix.lower()) else body.strip()
            message = actions.reply_for_owner(ticket=ticket, body=text, owner_name=link.owner.name,
                                              external_id=external_id)
            outcome = "mailed to the user"
        else:
            message = actions.add_owner_note(ticket=ticket, external_id=external_id,
                                             body=f"[Jira {link.issue_key} · {author}]\n{body.strip()}")
            outcome = "note added"
        JiraComment.objects.get_or_create(message=message, defaults={"link": link, "comment_id": comment_id})
        JiraLink.objects.filter(pk=link.pk, owner_acted_at__isnull=True).update(owner_acted_at=timezone.now())
    return outcome


def _adf_text(node) -> str:
    if isinstance(node, dict):
        if node.get("type") == "text":
            return node.get("text", "")
        parts = [_adf_text(child) for child in node.get("content") or []]
        return ("\n" if node.get("type") == "doc" else "").join(parts)
    return ""


def answer_elsewhere(*, ticket, user) -> bool:
    """The owner answers the user in their own support system: the desk shows it and mails them nothing."""
    changed = JiraLink.objects.filter(ticket=ticket, answers_elsewhere=False).update(answers_elsewhere=True)
    if changed:
        actions.record_forwarding(ticket=ticket, data={"event": "answers_elsewhere", "by": display_name(user)})
    return bool(changed)
