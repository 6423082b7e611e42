"""The API's errors come as its schema documents them, including those no view answers itself."""

import pytest
from django.test import Client

from supportdesk.api import api


@pytest.fixture
def web():
    return Client(raise_request_exception=False)


def _documented(path: str, method: str) -> dict:
    return api.get_openapi_schema()["paths"][path][method]["responses"]


@pytest.mark.parametrize("path", ["/api/tickets/T-1%2F2", "/api/chat/conversations/a%2Fb/rating", "/api/nothing"])
def test_an_api_path_naming_no_operation_is_a_json_404(web, db, path):
    response = web.get(path)
    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json() == {"detail": "The API has no such address."}


def test_a_path_outside_the_api_keeps_djangos_404_page(web, db):
    response = web.get("/nothing/here")
    assert response.status_code == 404 and response["Content-Type"].startswith("text/html")


def test_each_operation_documents_the_errors_of_the_layers_around_it():
    assert set(_documented("/api/tickets/{reference}", "get")) == {200, 400, 401, 404}     # any string
    assert set(_documented("/api/tickets/{reference}/attachments/{attachment_id}", "get")) == {
        200, 400, 401, 404, 422}
    assert set(_documented("/api/tickets", "get")) == {200, 400, 401, 422}
    assert set(_documented("/api/chat/config", "get")) == {200, 400}     # public, no parameters
    assert set(_documented("/api/feedback", "post")) == {201, 400, 401, 413}  # reads its own body


def test_a_missing_token_answers_the_documented_401(web, db):
    response = web.get("/api/tickets")
    assert response.status_code == 401 and response.json() == {"detail": "Unauthorized"}
