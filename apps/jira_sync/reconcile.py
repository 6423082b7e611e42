"""The periodic check that makes a lost webhook only a delay: each owner's open forwarded issues, read back.

One search per owner and batch (``key in (…)``), never one request per ticket. An owner
whose Jira cannot be reached is skipped until the next run; the others go on.
"""

import logging

import requests
from jira.exceptions import JIRAError

from apps.jira_sync import recovery, sync
from apps.jira_sync.client import client_for
from apps.jira_sync.models import JiraConnection, JiraLink
from apps.tickets.models import Ticket

log = logging.getLogger(__name__)
BATCH = 50
FOLLOWED = [Ticket.Status.FORWARDED, Ticket.Status.RESOLVED]


def reconcile(*, limit: int = 2000) -> dict[str, int]:
    """Apply the current state of forwarded issues whose tickets are still forwarded or resolved."""
    counts = {"checked": 0, "changed": 0, "failed_owners": 0}
    links = list(JiraLink.objects.filter(state=JiraLink.State.CREATED, ticket__status__in=FOLLOWED)
                 .exclude(issue_key="").select_related("ticket", "owner").order_by("synced_at", "pk")[:limit])
    connections = {c.owner_id: c for c in JiraConnection.objects.filter(owner_id__in={lk.owner_id for lk in links})}
    by_owner: dict[int, list[JiraLink]] = {}
    for link in links:
        by_owner.setdefault(link.owner_id, []).append(link)
    answered = set()
    for owner_id, owned in by_owner.items():
        connection = connections.get(owner_id)
        if connection is None:
            continue
        try:
            _reconcile_owner(connection, owned, counts)
        except (JIRAError, requests.RequestException) as error:
            counts["failed_owners"] += 1
            log.warning("reconcile: %s's Jira did not answer: %s", connection.owner, error)
        else:
            answered.add(owner_id)
    # An outage that outlasted the letters' time limit has ended where Jira answers: they go out again.
    counts["resent"] = recovery.resend_where_jira_answers(answered=answered)
    return counts


def _reconcile_owner(connection: JiraConnection, links: list[JiraLink], counts: dict[str, int]) -> None:
    client = client_for(connection)
    for start in range(0, len(links), BATCH):
        batch = {link.issue_key: link for link in links[start:start + BATCH]}
        keys = ", ".join(f'"{key}"' for key in batch)
        issues = client.search_issues(f"key in ({keys})", maxResults=len(batch),
                                      fields="status,resolution,labels", json_result=True)
        for issue in issues.get("issues", []):
            link = batch.get(issue.get("key"))
            if link is None:
                continue
            counts["checked"] += 1
            before = link.ticket.status
            # As of "now" is not known for a read: 0 applies it unless a newer webhook is being applied.
            sync.apply_issue(link, sync.IssueState.from_json(issue), as_of_ms=0, by="reconcile")
            link.ticket.refresh_from_db(fields=["status", "scope"])
            counts["changed"] += link.ticket.status != before or link.ticket.scope != Ticket.Scope.EXTENSION
