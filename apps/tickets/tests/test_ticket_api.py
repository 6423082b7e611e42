from datetime import UTC, datetime

import pytest
from django.test import Client

from apps.desk import actions
from apps.tickets import services
from apps.tickets.models import Attachment, Ticket


@pytest.fixture
def ticket(contact):
    ticket = actions.open_ticket(
        channel="email", contact=contact, subject="Krasch", body="Hej",
        external_ref="<m-1@example.com>", external_id="<m-1@example.com>",
        received_at=datetime(2025, 12, 23, 14, 0, tzinfo=UTC))
    message = ticket.messages.get()
    Attachment.objects.create(message=message, file="attachments/x", filename="log.txt",
                              content_type="text/plain", size=3, sha256="a" * 64)
    return ticket


def test_a_ticket_is_returned_with_its_thread(api_client, ticket):
    response = api_client.get(f"/api/tickets/{ticket.reference}")
    assert response.status_code == 200
    body = response.json()
    assert body["reference"] == ticket.reference
    assert (body["channel"], body["language"], body["region"], body["status"]) == (
        "email", "sv", "europe", "new")
    assert body["scope"] == "untriaged" and body["extension"] is None
    assert body["contact"]["email"] == "ada@example.com"
    (message,) = body["messages"]
    assert message["external_id"] == "<m-1@example.com>"
    assert message["direction"] == "inbound"
    assert message["attachments"] == [
        {"id": ticket.messages.get().attachments.get().pk, "filename": "log.txt", "content_type": "text/plain",
         "size": 3, "sha256": "a" * 64}]
    assert body["jira_key"] is None and body["merged_into"] is None
    targets = {t["kind"]: t for t in body["sla_targets"]}
    assert targets["acknowledge"]["due_at"] == "2025-12-30T08:00:00Z"
    assert targets["first_response"] == {"kind": "first_response", "due_at": "2025-12-23T22:00:00Z",
                                         "met_at": None, "breached": False, "not_applicable_at": None}


def test_a_set_aside_target_says_when_it_was_set_aside(api_client, contact):
    """A caller who left the queue for voicemail in time: past its due time the answer target is not breached."""
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="Hej", external_ref="m1")
    ticket.sla_targets.filter(kind="first_response").update(not_applicable_at=datetime(2025, 12, 23, 21, 5, tzinfo=UTC))

    body = api_client.get(f"/api/tickets/{ticket.reference}").json()

    set_aside = {t["kind"]: t for t in body["sla_targets"]}["first_response"]
    assert set_aside["not_applicable_at"] == "2025-12-23T21:05:00Z"
    assert set_aside["breached"] is False and set_aside["met_at"] is None


def test_a_merged_ticket_names_the_ticket_it_went_into_in_one_query_for_a_page(api_client, contact,
                                                                              django_assert_max_num_queries):
    older = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="Hej", external_ref="m1")
    newer = actions.open_ticket(channel="email", contact=contact, subject="Igen", body="Hej", external_ref="m2")
    agent = api_client.get("/api/tickets").wsgi_request.auth
    actions.merge_tickets(ticket=older, into=newer, user=agent)
    for i in range(5):
        gone = actions.open_ticket(channel="email", contact=contact, subject=f"t{i}", body="x", external_ref=f"r{i}")
        actions.merge_tickets(ticket=gone, into=newer, user=agent)

    assert api_client.get(f"/api/tickets/{older.reference}").json()["merged_into"] == newer.reference
    assert api_client.get(f"/api/tickets/{newer.reference}").json()["merged_into"] is None
    with django_assert_max_num_queries(8):
        items = api_client.get("/api/tickets").json()["items"]
    assert {item["reference"]: item["merged_into"] for item in items} == {
        newer.reference: None, **{reference: newer.reference for reference in
                                  Ticket.objects.filter(merged_into=newer).values_list("reference", flat=True)}}


def test_a_tickets_file_is_downloaded_with_a_staff_token_only(api_client, contact, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Logg", body="Se bifogad fil",
                                  external_ref="<m-9@example.com>")
    file = services.add_attachment(message=ticket.messages.get(), filename="log.txt", content_type="text/plain",
                                   data=b"boom")
    url = f"/api/tickets/{ticket.reference.lower()}/attachments/{file.pk}"
    response = api_client.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"boom"
    assert response["Content-Disposition"] == 'attachment; filename="log.txt"'
    assert api_client.get(f"/api/tickets/{ticket.reference}/attachments/{file.pk + 1}").status_code == 404
    assert Client().get(url).status_code == 401      # no token


def test_an_unknown_reference_is_404(api_client, db):
    assert api_client.get("/api/tickets/SD-999999").status_code == 404


def test_the_api_requires_a_staff_token(client, ticket):
    assert client.get(f"/api/tickets/{ticket.reference}").status_code == 401
    response = client.get(f"/api/tickets/{ticket.reference}", HTTP_AUTHORIZATION="Bearer wrong")
    assert response.status_code == 401


def test_the_list_filters_and_paginates(api_client, contact):
    for i in range(55):
        actions.open_ticket(channel="email" if i % 2 else "chat", contact=contact, subject=f"t{i}",
                             body="x", external_ref=f"r{i}",
                             received_at=datetime(2026, 1, 1 + i % 28, tzinfo=UTC))
    page = api_client.get("/api/tickets").json()
    assert page["count"] == 55 and len(page["items"]) == 50
    assert len(api_client.get("/api/tickets?page=2").json()["items"]) == 5
    chats = api_client.get("/api/tickets?channel=chat").json()
    assert chats["count"] == 28
    assert {item["channel"] for item in chats["items"]} == {"chat"}
    recent = api_client.get("/api/tickets?since=2026-01-20T00:00:00Z").json()
    assert recent["count"] == sum(1 for i in range(55) if 1 + i % 28 >= 20)
    assert api_client.get("/api/tickets?language=fi").status_code == 422


@pytest.mark.parametrize("since,count", [
    ("2026-01-20T23:30:00+23:59", 1),     # past PostgreSQL's offsets: 2026-01-19T23:31Z
    ("2026-01-20T00:00:00", 1),           # no offset: UTC
    ("2026-01-20T00:00:01", 0),
])
def test_since_takes_any_iso_offset_and_compares_in_utc(api_client, contact, since, count):
    actions.open_ticket(channel="email", contact=contact, subject="t", body="x", external_ref="r",
                         received_at=datetime(2026, 1, 20, tzinfo=UTC))
    response = api_client.get("/api/tickets", {"since": since})
    assert response.status_code == 200 and response.json()["count"] == count


@pytest.mark.parametrize("since", ["0001-01-01T00:00:00+22:00", "9999-12-31T23:59:59-22:00"])
def test_a_since_off_the_calendar_in_utc_is_a_422(api_client, db, since):
    response = api_client.get("/api/tickets", {"since": since})
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", "since"] and "out of range once converted to UTC" in error["msg"]


def test_the_openapi_document_describes_the_ticket_endpoints(client, db):
    document = client.get("/api/openapi.json").json()
    assert "/api/tickets/{reference}" in document["paths"]
    assert "/api/tickets" in document["paths"]


def test_a_fault_answers_json_without_a_traceback_and_is_logged(api_client, monkeypatch, caplog, settings):
    from apps.tickets import selectors

    def broken(*args, **kwargs):
        raise RuntimeError("database password is hunter2")

    settings.DEBUG = True      # django-ninja answers with the traceback in DEBUG: ours never does
    monkeypatch.setattr(selectors, "ticket_by_reference", broken)
    response = api_client.get("/api/tickets/SD-000001")
    assert response.status_code == 500
    assert response.json() == {"detail": "Something went wrong on our side. It has been logged."}
    assert "hunter2" not in response.content.decode() and "Traceback" not in response.content.decode()
    assert "hunter2" in caplog.text
