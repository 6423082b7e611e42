"""The console home's views: what each holds and counts, through the one access rule, filtered and sorted."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.console import worklists
from apps.console.tests.helpers import open_email_ticket
from apps.sla.models import SlaTarget

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)   # a Tuesday
User = get_user_model()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        yield


def _open(*, language="sv", ref, hours, **changes):
    return open_email_ticket(ref=ref, subject=f"Ärende {ref}", received_at=T0 + timedelta(hours=hours),
                             language=language, **changes)


@pytest.fixture
def desk(regions, queues, agent):
    """agent_sv (Swedish: chat, voice, email) and a colleague; one German ticket outside agent_sv's queues."""
    colleague = User.objects.create_user("colleague_sv")
    make_agent(user=colleague, languages=["sv"], channels=["email"])
    tickets = {
        "mine": _open(ref="mine", hours=0, assignee=agent, status="open"),
        "waiting": _open(ref="waiting", hours=1, assignee=agent, status="pending"),
        "free": _open(ref="free", hours=2),
        "theirs": _open(ref="theirs", hours=3, assignee=colleague, status="open"),
        "done": _open(ref="done", hours=4, status="resolved", resolved_at=T0 + timedelta(hours=20)),
        "closed": _open(ref="closed", hours=5, status="closed", resolved_at=T0 + timedelta(hours=10)),
        "german": _open(language="de", ref="german", hours=6),
        "german_done": _open(language="de", ref="german-done", hours=7, status="resolved", resolved_at=T0),
    }
    SlaTarget.objects.filter(ticket=tickets["free"]).update(breached_at=T0 + timedelta(hours=3))
    SlaTarget.objects.filter(ticket=tickets["german"]).update(breached_at=T0 + timedelta(hours=7))
    return tickets


def _refs(rows) -> list[str]:
    return [ticket.reference for ticket in rows]


def _view(agent, name, **kwargs):
    return _refs(worklists.worklist(user=agent, view=worklists.VIEWS[name], **kwargs))


def test_each_view_holds_its_tickets_and_counts_them(desk, agent):
    ref = {name: ticket.reference for name, ticket in desk.items()}
    assert _view(agent, "mine", sort="received") == [ref["waiting"], ref["mine"]]
    assert _view(agent, "waiting") == [ref["waiting"]]
    assert _view(agent, "unassigned") == [ref["free"]]
    assert _view(agent, "breached") == [ref["free"]]
    assert set(_view(agent, "queue")) == {ref["mine"], ref["waiting"], ref["free"], ref["theirs"]}
    # Resolved and closed tickets are reachable: the most recently resolved first.
    assert _view(agent, "resolved") == [ref["done"], ref["closed"]]
    assert worklists.counts(user=agent) == {"queue": 4, "mine": 2, "unassigned": 1, "waiting": 1, "breached": 1,
                                            "resolved": 2}


def test_an_agent_never_sees_a_ticket_outside_their_queues(desk, agent, client):
    german = {desk["german"].reference, desk["german_done"].reference}
    for name in worklists.VIEWS:
        assert not german & set(_view(agent, name)), name
    client.force_login(agent)
    for name in worklists.VIEWS:
        assert not german & set(re.findall(r'data-ref="([^"]+)"', client.get(f"/console/?view={name}").content
                                           .decode())), name
    # A manager's views hold them.
    manager = User.objects.create_user("boss", is_superuser=True)
    assert german <= set(_view(manager, "queue")) | set(_view(manager, "resolved"))
    assert worklists.counts(user=manager)["breached"] == 2


def test_sorting_by_waiting_received_and_sla_due(desk, agent):
    ref = {name: ticket.reference for name, ticket in desk.items()}
    assert _view(agent, "queue", sort="waiting") == [ref["mine"], ref["waiting"], ref["free"], ref["theirs"]]
    assert _view(agent, "queue", sort="received") == [ref["theirs"], ref["free"], ref["waiting"], ref["mine"]]
    # The nearest open deadline first: push "theirs" ahead of everything, leave "mine" with none open.
    SlaTarget.objects.filter(ticket=desk["theirs"]).update(due_at=T0 - timedelta(days=1))
    SlaTarget.objects.filter(ticket=desk["mine"]).update(met_at=T0)
    by_sla = _view(agent, "queue", sort="sla")
    assert by_sla[0] == ref["theirs"] and by_sla[-1] == ref["mine"]


def test_the_views_take_the_searchs_filters(desk, agent, client):
    ref = {name: ticket.reference for name, ticket in desk.items()}
    assert _view(agent, "queue", filters={"status": "pending"}) == [ref["waiting"]]
    client.force_login(agent)
    page = client.get("/console/?view=queue&status=open&sort=waiting").content.decode()
    assert re.findall(r'data-ref="([^"]+)"', page) == [ref["mine"], ref["theirs"]]
    assert "data-live" not in page.split('id="queue"')[1].split(">")[0]   # a filtered list does not take live rows


def test_the_home_page_shows_views_with_counts_and_words_not_codes(desk, agent, client):
    client.force_login(agent)
    page = client.get("/console/?view=resolved").content.decode()
    assert re.search(r'id="view-mine" href="\?view=mine">Mine <span class="count">2</span>', page)
    assert 'id="view-resolved" href="?view=resolved" aria-current="page"' in page
    row = page.split(f'data-ref="{desk["done"].reference}"')[1].split("</tr>")[0]
    assert '<td class="language">Swedish</td>' in row and '<td class="channel">Email</td>' in row
    assert '<td class="status">Resolved</td>' in row
    assert f'data-href="/console/tickets/{desk["done"].reference}/"' in page
    assert f'<a href="/console/tickets/{desk["done"].reference}/">' in row   # the reference stays a real link
    default = client.get("/console/").content.decode()
    assert 'data-console="home" data-live' in default and 'aria-current="page">All in my queues' in default


def test_an_unknown_view_or_sort_falls_back_to_the_default(desk, agent, client):
    client.force_login(agent)
    page = client.get("/console/?view=nope&sort=nope")
    assert page.status_code == 200 and 'id="view-queue" href="?view=queue" aria-current="page"' in page.content.decode()


def test_the_assignee_filter_is_the_searchs_too(desk, agent, client):
    ref = {name: ticket.reference for name, ticket in desk.items()}
    colleague = User.objects.get(username="colleague_sv")
    assert set(_view(agent, "queue", filters={"assignee": "me"})) == {ref["mine"], ref["waiting"]}
    assert _view(agent, "queue", filters={"assignee": "none"}) == [ref["free"]]
    assert _view(agent, "queue", filters={"assignee": str(colleague.pk)}) == [ref["theirs"]]
    client.force_login(agent)
    page = client.get(f"/console/?view=queue&assignee={colleague.pk}").content.decode()
    assert re.findall(r'data-ref="([^"]+)"', page) == [ref["theirs"]]
    search = client.get("/console/search/?assignee=none&status=resolved").content.decode()
    assert ref["done"] in search and ref["free"] not in search
