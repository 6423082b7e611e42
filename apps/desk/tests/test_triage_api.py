"""POST /api/tickets/<reference>/triage: the console's triage, for API tokens, scoped like the console."""

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import create_api_token, make_agent
from apps.desk import actions
from apps.owners.models import Extension, ExtensionOwner


@pytest.fixture
def acme(db):
    return Extension.objects.create(name="Acme Charts", slug="acme-charts",
                                    owner=ExtensionOwner.objects.create(name="Acme Plugins", slug="acme"))


@pytest.fixture
def ticket(contact):
    return actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="Hej", external_ref="m1")


def post(client, reference, body, token=None):
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"} if token else {}
    return client.post(f"/api/tickets/{reference}/triage", body, content_type="application/json", **headers)


def test_an_extension_triage_forwards_and_answers_the_ticket(api_client, ticket, acme):
    answer = post(api_client, ticket.reference, {"scope": "extension", "category": "bug", "extension": "acme-charts"})
    assert answer.status_code == 200
    data = answer.json()
    assert (data["status"], data["scope"], data["extension"], data["jira_key"]) == (
        "forwarded", "extension", "acme-charts", None)


def test_a_core_triage_ignores_the_extension(api_client, ticket):
    answer = post(api_client, ticket.reference, {"scope": "core", "category": "usage_question", "extension": "nope"})
    assert answer.status_code == 200 and answer.json()["scope"] == "core" and answer.json()["extension"] is None


@pytest.mark.parametrize("body", [
    {"scope": "extension", "category": "bug"},
    {"scope": "extension", "category": "bug", "extension": "unknown"},
    {"scope": "everything", "category": "bug"},
    {"scope": "core", "category": "complaint"},
    {"category": "bug"},
    "{not json", '"core"', "[1]", "",
])
def test_an_invalid_body_is_a_422_with_detail(api_client, ticket, acme, body):
    answer = post(api_client, ticket.reference, body)
    assert answer.status_code == 422 and answer.json()["detail"]


def test_without_a_token_401_and_outside_the_scope_404(client, ticket, db):
    assert post(client, ticket.reference, {"scope": "core"}).status_code == 401
    german = get_user_model().objects.create_user("agent_de")
    make_agent(user=german, languages=["de"], channels=["email"])
    assert post(client, ticket.reference, {"scope": "core"}, token=create_api_token(user=german)).status_code == 404
    assert post(client, "SD-999999", {"scope": "core"}, token=create_api_token(user=german)).status_code == 404
