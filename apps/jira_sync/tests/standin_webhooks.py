"""Webhook bodies shaped like Jira Cloud's admin webhooks, for tests of the way back from Jira."""

import hashlib
import hmac
import itertools
import json

ISSUE_EVENT_TYPES = {
    "jira:issue_created": "issue_created",
    "jira:issue_updated": "issue_generic",
    "jira:issue_deleted": "issue_deleted",
}
COMMENT_EVENTS = {"comment_created", "comment_updated", "comment_deleted"}
_changelog_ids = itertools.count(10100)


def payload(event: str, issue: dict, *, user: dict, changelog_items: list[dict] | None = None,
            comment: dict | None = None, timestamp_ms: int | None = None) -> dict:
    """jira:issue_* events carry user, issue and changelog; comment_* events carry comment and issue."""
    body = {"timestamp": timestamp_ms if timestamp_ms is not None else 1_796_000_000_000,
            "webhookEvent": event}
    if event in ISSUE_EVENT_TYPES:
        body["issue_event_type_name"] = ISSUE_EVENT_TYPES[event]
        body["user"] = user
        body["issue"] = issue
        if changelog_items:
            body["changelog"] = {"id": str(next(_changelog_ids)), "items": changelog_items}
    elif event in COMMENT_EVENTS:
        if comment is None:
            raise ValueError(f"{event} needs the comment")
        body["comment"] = comment
        body["issue"] = {"id": issue["id"], "self": issue["self"], "key": issue["key"],
                         "fields": {name: issue["fields"][name]
                                    for name in ("summary", "issuetype", "project", "status", "priority")
                                    if name in issue["fields"]}}
    else:
        raise ValueError(f"unknown webhook event {event!r}")
    return body


def signed(body: dict, secret: str, *, delivery_id: str, retry: int = 0) -> tuple[bytes, dict[str, str]]:
    """The raw bytes and headers of one delivery of an admin webhook registered with a secret."""
    raw = json.dumps(body).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"Content-Type": "application/json", "X-Hub-Signature": signature,
                 "X-Atlassian-Webhook-Identifier": delivery_id, "X-Atlassian-Webhook-Retry": str(retry),
                 "X-Atlassian-Webhook-Flow": "Primary"}
