"""POST /api/feedback: the installation's key, JSON or multipart, 400 with field details, a feedback ticket."""

import base64
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.feedback import services
from apps.feedback.models import ApiKey, FeedbackReport
from apps.owners.models import Extension, ExtensionOwner
from apps.sla.models import SlaTarget
from apps.tickets.models import Ticket

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
REPORT = {"user_email": "ada@example.org", "language": "sv-SE", "product": "core", "app_version": "14.2.1",
          "message": "Appen kraschar när jag exporterar.\nSteg: öppna, exportera."}


@pytest.fixture
def key(regions, queues):
    _key, raw = services.issue_api_key(name="Desktop 14.2 / build 77")
    return raw


def post_json(client, body, key=None, **extra):
    headers = {"HTTP_X_API_KEY": key} if key else {}
    return client.post("/api/feedback", data=json.dumps(body), content_type="application/json", **headers, **extra)


def test_a_json_report_opens_a_feedback_ticket_with_the_8_hour_target(client, key):
    response = post_json(client, {**REPORT, "attachments": [
        {"filename": "app.log", "content_type": "text/plain", "content_base64": base64.b64encode(b"ERR").decode()}]},
        key)

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(reference=response.json()["reference"])
    assert ticket.channel == "feedback" and ticket.language == "sv" and ticket.region.slug == "europe"
    assert ticket.subject == "Appen kraschar när jag exporterar."
    assert ticket.contact.email == "ada@example.org"
    target = SlaTarget.objects.get(ticket=ticket, kind=SlaTarget.Kind.FIRST_RESPONSE)
    assert target.target_seconds == 8 * 3600
    report = FeedbackReport.objects.get(ticket=ticket)
    assert report.app_version == "14.2.1" and report.product == "core"
    assert ticket.messages.get().attachments.get().filename == "app.log"


def test_a_multipart_report_stores_its_log_and_screenshot(client, key):
    response = client.post("/api/feedback", data={
        **REPORT, "attachments": [SimpleUploadedFile("app.log", b"line\n" * 100, content_type="text/plain"),
                                  SimpleUploadedFile("screen.png", PNG, content_type="image/png")]},
        HTTP_X_API_KEY=key)

    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get(reference=response.json()["reference"])
    assert sorted(ticket.messages.get().attachments.values_list("filename", flat=True)) == ["app.log", "screen.png"]


def test_an_extension_report_is_filed_on_the_extension(client, key):
    owner = ExtensionOwner.objects.create(name="Acme", slug="acme")
    Extension.objects.create(name="Acme Stairs", slug="acme-stairs", owner=owner)
    response = post_json(client, {**REPORT, "product": "acme-stairs"}, key)
    assert Ticket.objects.get(reference=response.json()["reference"]).extension.slug == "acme-stairs"


def test_validation_errors_are_400_with_each_failing_field(client, key):
    response = post_json(client, {"user_email": "not-an-address", "language": "fi", "product": "nope",
                                  "message": ""}, key)

    assert response.status_code == 400
    fields = {error["field"] for error in response.json()["detail"]}
    assert fields == {"user_email", "language", "product", "app_version", "message"}
    assert not Ticket.objects.exists()


def test_attachments_over_the_limits_or_of_other_types_are_refused(client, key, settings):
    settings.FEEDBACK_MAX_ATTACHMENT_BYTES = 1000
    response = client.post("/api/feedback", data={
        **REPORT, "attachments": [SimpleUploadedFile("big.log", b"x" * 2000, content_type="text/plain"),
                                  SimpleUploadedFile("run.exe", b"MZ", content_type="application/x-msdownload"),
                                  SimpleUploadedFile("fake.png", b"GIF89a", content_type="image/png")]},
        HTTP_X_API_KEY=key)

    assert response.status_code == 400
    messages = [error["message"] for error in response.json()["detail"]]
    assert len(messages) == 3 and all(error["field"] == "attachments" for error in response.json()["detail"])
    assert not Ticket.objects.exists()


def test_too_many_attachments_are_refused(client, key, settings):
    settings.FEEDBACK_MAX_ATTACHMENTS = 1
    files = [SimpleUploadedFile(f"{n}.log", b"x", content_type="text/plain") for n in range(2)]
    assert client.post("/api/feedback", data={**REPORT, "attachments": files}, HTTP_X_API_KEY=key).status_code == 400


def test_malformed_json_is_400(client, key):
    response = client.post("/api/feedback", data="{not json", content_type="application/json", HTTP_X_API_KEY=key)
    assert response.status_code == 400
    assert response.json()["detail"][0]["field"] == "body"


def test_a_missing_or_unknown_key_is_401(client, key):
    assert post_json(client, REPORT).status_code == 401
    assert post_json(client, REPORT, "sdfb_wrong").status_code == 401


def test_a_revoked_key_is_refused(client, key):
    services.revoke_api_key(key=ApiKey.objects.get())
    assert post_json(client, REPORT, key).status_code == 401
    assert not Ticket.objects.exists()


def test_the_staff_token_does_not_authenticate_feedback(api_client, regions):
    assert post_json(api_client, REPORT).status_code == 401


def test_only_the_hash_of_a_key_is_stored(key):
    stored = ApiKey.objects.get()
    assert key not in (stored.key_hash, stored.prefix) and stored.key_hash != key
    assert key.startswith(stored.prefix)


def test_a_retried_report_with_the_same_report_id_opens_one_ticket(client, key):
    first = post_json(client, {**REPORT, "report_id": "r-123"}, key)
    again = post_json(client, {**REPORT, "report_id": "r-123"}, key)
    assert first.json()["reference"] == again.json()["reference"]
    assert Ticket.objects.count() == 1 and FeedbackReport.objects.count() == 1


def test_a_report_retried_after_its_ticket_was_merged_names_the_survivor(client, key):
    from django.contrib.auth import get_user_model

    from apps.accounts.services import make_agent
    from apps.desk import actions

    manager = get_user_model().objects.create_user("feedback_manager", password="pw")
    make_agent(user=manager, languages=["en"], channels=["feedback"], manager=True)
    first = Ticket.objects.get(reference=post_json(client, {**REPORT, "report_id": "r-9"}, key).json()["reference"])
    survivor = Ticket.objects.get(reference=post_json(client, {**REPORT, "report_id": "r-10"}, key).json()["reference"])
    actions.merge_tickets(ticket=first, into=survivor, user=manager)

    again = post_json(client, {**REPORT, "report_id": "r-9"}, key)

    assert again.json()["reference"] == survivor.reference and again.json()["status"] != "closed"
    assert Ticket.objects.count() == 2 and FeedbackReport.objects.count() == 2


def test_the_endpoint_is_in_the_openapi_document_with_its_own_key(client, regions):
    document = client.get("/api/openapi.json").json()
    operation = document["paths"]["/api/feedback"]["post"]
    assert set(operation["requestBody"]["content"]) == {"application/json", "multipart/form-data"}
    [security] = operation["security"]
    scheme = document["components"]["securitySchemes"][next(iter(security))]
    assert scheme == {"type": "apiKey", "in": "header", "name": "X-Api-Key"}
    assert {"201", "400"} <= set(operation["responses"])
