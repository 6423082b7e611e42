"""Schemathesis over ``/api/openapi.json``: every operation, with a manager's and an agent's token.

The schema is the API's promise: whatever the fuzzer sends, the answer is no 5xx and matches
what the schema documents (status code, content type, body, headers). A real token reaches the
views: the manager sees everything, an agent's narrower scope answers 403 or 404. Bounded and
derandomized, so the file runs in seconds and a failure repeats.

Two checks stay off: they judge how strict the request schema is, not what the API answers.
The views check more than a schema can say (a known region, a valid email address, no NUL),
so a schema-valid request may rightly get a 400 (positive data acceptance); and pydantic reads
some values the schema does not list, such as a number as a Unix time (negative data rejection).
"""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import schemathesis
import time_machine
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

import supportdesk.wsgi
from apps.desk import actions

schema = schemathesis.openapi.from_wsgi("/api/openapi.json", supportdesk.wsgi.application)

# Times at the calendar's ends and with offsets ISO-8601 allows but PostgreSQL does not (to ±15:59)
# once were 500s; ten examples seldom meet them by chance, so they come up in every run.
EDGE_TIMES = st.sampled_from(["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59Z",
                              "2026-03-03T10:00:00+22:04"])
ANY_OFFSET = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda minutes: timezone(timedelta(minutes=minutes)))
schemathesis.openapi.format("date-time", EDGE_TIMES | st.datetimes(timezones=ANY_OFFSET).map(datetime.isoformat))

REQUEST_STRICTNESS = [positive_data_acceptance, negative_data_rejection]
A_TUESDAY_MORNING = datetime(2026, 3, 3, 9, 30, tzinfo=UTC)    # desks open: availability says so


def bounded(examples: int):
    return settings(max_examples=examples, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))


@pytest.fixture
def desk(db, regions, queues, contact):
    """A desk at a fixed time with one ticket and no rate limits used, answering through the real WSGI handler.

    The handler closes the database connection after each request (``close_old_connections``),
    which would end the test's transaction; Django's test client disconnects it the same way.
    """
    from django.core.cache import cache


    cache.clear()
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        with time_machine.travel(A_TUESDAY_MORNING, tick=False):
            actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="Hej",
                                 external_ref="<fuzz@x>")
            yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _token(*, username: str, manager: bool) -> str:
    from django.contrib.auth import get_user_model

    from apps.accounts.services import create_api_token, make_agent

    user = get_user_model().objects.create_user(username, password="pw")
    make_agent(user=user, languages=["de"], channels=["email"], manager=manager)
    return create_api_token(user=user)


@pytest.fixture
def manager_headers(desk, regions):
    """The manager's token, and an installation's key so that feedback reports get past their own auth."""
    from apps.feedback.services import issue_api_key

    _key, installation_key = issue_api_key(name="fuzz", region=regions["europe"])
    return {"Authorization": f"Bearer {_token(username='manager', manager=True)}", "X-Api-Key": installation_key}


@pytest.fixture
def agent_headers(desk):
    return {"Authorization": f"Bearer {_token(username='agent_de', manager=False)}"}


@pytest.fixture
def visitor(desk):
    """An online Swedish chat agent and a chat with its visitor token: the widget's endpoints get past both."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from apps.accounts.services import make_agent
    from apps.chat.services import start_conversation
    from apps.chat.tokens import visitor_token
    from apps.routing.models import AgentState

    user = get_user_model().objects.create_user("agent_sv", password="pw")
    make_agent(user=user, languages=["sv"], channels=["chat", "email"])
    AgentState.objects.create(user=user, presence="online", last_seen_at=timezone.now())
    conversation = start_conversation(language="sv", name="Ada Lind", email="ada@example.com",
                                      entry_point="widget-europe")
    return {"conversation_id": str(conversation.pk), "token": visitor_token(conversation.pk)}


@schema.parametrize()
@bounded(10)
def test_the_api_keeps_its_schema_for_the_manager(case, manager_headers, visitor):
    headers = manager_headers
    if "conversation_id" in (case.path_parameters or {}):     # the agent's run keeps the fuzzer's own ids
        case.path_parameters["conversation_id"] = visitor["conversation_id"]
        headers = {**manager_headers, "X-Chat-Token": visitor["token"]}
    case.call_and_validate(headers=headers, excluded_checks=REQUEST_STRICTNESS)


@schema.parametrize()
@bounded(3)
def test_the_api_keeps_its_schema_for_an_agent(case, agent_headers):
    case.call_and_validate(headers=agent_headers, excluded_checks=REQUEST_STRICTNESS)
