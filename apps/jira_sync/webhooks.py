"""``POST /jira/webhook/<owner_slug>/``: the owner's Jira tells the desk what changed (edge: verify, store, apply).

An admin webhook registered with the owner's secret signs the raw body:
``X-Hub-Signature: sha256=<hex HMAC-SHA256>``. Unknown owner → 404, no signature → 401,
a wrong one → 403, and nothing changes. A verified delivery is stored and applied in one
transaction and answered 200; one that fails to apply answers 500, so Jira delivers it
again. ``X-Atlassian-Webhook-Identifier`` is the same on Jira's retries: a repeat has one
effect. Changes made by the desk's own Jira account are ignored (no echo loops).
"""

import hashlib
import hmac
import json
import logging

from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.jira_sync import sync
from apps.jira_sync.models import JiraConnection, WebhookDelivery
from apps.owners.models import ExtensionOwner

log = logging.getLogger(__name__)
ISSUE_EVENTS = {"jira:issue_created", "jira:issue_updated"}
COMMENT_EVENTS = {"comment_created"}


def _answer(status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def signature_of(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


@csrf_exempt
@require_POST
def jira_webhook(request: HttpRequest, owner_slug: str) -> JsonResponse:
    owner = ExtensionOwner.objects.filter(slug=owner_slug).first()
    connection = JiraConnection.objects.filter(owner=owner).first() if owner else None
    if connection is None:
        return _answer(404, _("No Jira connection for this owner."))
    given = request.headers.get("X-Hub-Signature", "")
    if not given:
        return _answer(401, _("The delivery is not signed (X-Hub-Signature)."))
    if not connection.webhook_secret or not hmac.compare_digest(given, signature_of(request.body,
                                                                                   connection.webhook_secret)):
        return _answer(403, _("The signature does not match the owner's webhook secret."))
    try:
        body = json.loads(request.body)
    except ValueError:
        return _answer(400, _("The body is not JSON."))
    if not isinstance(body, dict):
        return _answer(400, _("The body is not a JSON object."))
    identifier = (request.headers.get("X-Atlassian-Webhook-Identifier")
                  or hashlib.sha256(request.body).hexdigest())[:200]
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(owner=owner, identifier=identifier,
                                                      event=str(body.get("webhookEvent", ""))[:64], body=body)
            delivery.outcome = handle(connection, body)[:200]
            delivery.save(update_fields=["outcome"])
    except IntegrityError:
        return _answer(200, "repeat")       # the same delivery again: applied once already
    return _answer(200, delivery.outcome)


def handle(connection: JiraConnection, body: dict) -> str:
    """Apply one verified delivery; returns what it did, as stored on the delivery."""
    event = body.get("webhookEvent", "")
    if event not in ISSUE_EVENTS | COMMENT_EVENTS:
        return f"{event or 'an event'} is not followed"
    who = body.get("user") if event in ISSUE_EVENTS else (body.get("comment") or {}).get("author")
    if _is_desk(connection, who or {}):
        return "made by the desk's own account"
    issue = body.get("issue") or {}
    link = sync.link_for(connection.owner, issue)
    if link is None:
        return f"no ticket for {issue.get('key', 'the issue')}"
    if event in COMMENT_EVENTS:
        return sync.apply_comment(link, connection, body.get("comment") or {})
    by = (body.get("user") or {}).get("displayName", "")
    return sync.apply_issue(link, sync.IssueState.from_json(issue), as_of_ms=int(body.get("timestamp") or 0), by=by)


def _is_desk(connection: JiraConnection, user: dict) -> bool:
    ours = connection.integration_user.strip()
    return bool(ours) and ours in {user.get("accountId"), user.get("name"), user.get("key"), user.get("emailAddress")}
