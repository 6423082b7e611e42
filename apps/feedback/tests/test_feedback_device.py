"""What the app says of where it runs (OS, device) is accepted, kept on the report and documented."""

import json

import pytest

from apps.feedback import services
from apps.feedback.models import FeedbackReport
from apps.tickets.models import Ticket, TicketEvent

REPORT = {"user_email": "ada@example.org", "language": "sv", "app_version": "14.2.1", "message": "Kraschar."}


@pytest.fixture
def key(regions, queues):
    return services.issue_api_key(name="Acme Planner iOS 5.1")[1]


def post(client, body, key):
    return client.post("/api/feedback", data=json.dumps(body), content_type="application/json", HTTP_X_API_KEY=key)


def test_the_os_and_device_are_stored_on_the_report(client, key):
    response = post(client, {**REPORT, "os": "Windows 11 23H2", "device": "Dell Precision\n5570"}, key)
    assert response.status_code == 201, response.content
    report = FeedbackReport.objects.get(ticket__reference=response.json()["reference"])
    assert (report.os, report.device) == ("Windows 11 23H2", "Dell Precision 5570")    # kept to one line


def test_a_report_without_them_is_still_accepted(client, key):
    response = post(client, REPORT, key)
    assert response.status_code == 201
    assert FeedbackReport.objects.get().os == "" and FeedbackReport.objects.get().device == ""


def test_an_os_longer_than_100_characters_is_a_field_error(client, key):
    response = post(client, {**REPORT, "os": "x" * 101}, key)
    assert response.status_code == 400
    assert [error["field"] for error in response.json()["detail"]] == ["os"]


def test_the_person_who_sent_the_report_opened_the_ticket_not_an_installation_code(client, key):
    response = post(client, REPORT, key)
    opened = TicketEvent.objects.get(ticket=Ticket.objects.get(reference=response.json()["reference"]),
                                     kind=TicketEvent.Kind.OPENED)
    assert opened.actor_display() == "ada@example.org"


def test_the_openapi_document_describes_os_and_device(client):
    schema = client.get("/api/openapi.json").json()
    body = schema["paths"]["/api/feedback"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert {"os", "device"} <= set(body["properties"])


def test_the_migration_names_the_person_on_reports_opened_before_it(client, key):
    import importlib

    from django.apps import apps

    response = post(client, REPORT, key)
    ticket = Ticket.objects.get(reference=response.json()["reference"])
    TicketEvent.objects.filter(ticket=ticket, kind=TicketEvent.Kind.OPENED).update(
        actor_label="feedback:Acme Planner iOS 5.1")      # as the desk wrote it before
    importlib.import_module("apps.feedback.migrations.0002_report_os_device").contact_opened_it(apps, None)
    assert TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.OPENED).actor_label == "ada@example.org"
