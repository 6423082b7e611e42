"""An agent switches between the console's views, opens a ticket by its row, resolves it with `c`, undoes
that, and assigns a ticket to themselves from the list."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.tickets import services as tickets
from apps.tickets.models import Ticket
from tests.browser.conftest import in_another_thread

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
def worked(regions, queues):
    """Written before Playwright starts its event loop in this thread: the agent's, a free and a resolved ticket."""
    agent = get_user_model().objects.create_user("agent_sv", password="pw-agent-sv")
    make_agent(user=agent, languages=["sv"], channels=["email"], time_zone="Europe/Stockholm")
    contact = tickets.find_or_create_contact(email="ada@example.com", name="Ada Lind", language="sv",
                                             region=regions["europe"])

    def opened(subject, hours, **changes):
        ticket = actions.open_ticket(channel="email", contact=contact, subject=subject, body="Hej.",
                                     external_ref=f"<{hours}@example.com>", received_at=T0 + timedelta(hours=hours))
        Ticket.objects.filter(pk=ticket.pk).update(**changes)
        return Ticket.objects.get(pk=ticket.pk)
    return {"mine": opened("Min fråga", 0, assignee=agent, status="open"), "free": opened("Ledig fråga", 1),
            "done": opened("Klar fråga", 2, status="resolved", resolved_at=T0 + timedelta(hours=3))}


def _rows(page) -> list[str]:
    return page.eval_on_selector_all("#queue tbody tr[data-ref]", "rows => rows.map(r => r.dataset.ref)")


def test_views_row_links_resolve_with_undo_and_bulk_assign(worked, desk_server, browser, artifacts):
    mine, free, done = worked["mine"], worked["free"], worked["done"]
    page = browser.new_page(locale="en-US")
    page.goto(f"{desk_server}/accounts/login/?next=/console/")
    page.fill("#id_username", "agent_sv")
    page.fill("#id_password", "pw-agent-sv")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")
    assert set(_rows(page)) == {mine.reference, free.reference}
    assert page.inner_text("#view-resolved .count") == "1" and page.inner_text("#view-mine .count") == "1"

    page.click("#view-mine")
    page.wait_for_url("**/console/?view=mine")
    assert _rows(page) == [mine.reference]
    page.click("#view-resolved")
    page.wait_for_url("**/console/?view=resolved")
    assert _rows(page) == [done.reference]                                  # resolved tickets are reachable
    assert page.inner_text(f'#queue tr[data-ref="{done.reference}"] td.language') == "Swedish"
    # A resolved ticket is not waiting and its open targets no longer count down.
    assert page.inner_text(f'#queue tr[data-ref="{done.reference}"] td.sla') == "—"
    assert page.inner_text(f'#queue tr[data-ref="{done.reference}"] td.age') == "—"
    page.screenshot(path=str(artifacts / "console-views-resolved.png"), full_page=True)

    # The whole row opens the ticket (a click on its subject, not on the reference's link).
    page.click("#view-mine")
    page.click(f'#queue tr[data-ref="{mine.reference}"] td.subject')
    page.wait_for_url(f"**/console/tickets/{mine.reference}/")
    page.keyboard.press("c")
    page.wait_for_selector("#undo-notice")
    assert f"{mine.reference} resolved" in page.inner_text("#undo-notice")
    assert in_another_thread(lambda: Ticket.objects.get(pk=mine.pk).status) == "resolved"
    page.screenshot(path=str(artifacts / "console-resolve-undo.png"), full_page=True)
    page.click("#undo-resolve")
    page.wait_for_load_state()
    page.wait_for_function("!document.getElementById('undo-notice')")
    assert in_another_thread(lambda: Ticket.objects.get(pk=mine.pk).status) == "open"

    page.goto(f"{desk_server}/console/?view=unassigned")
    assert _rows(page) == [free.reference]
    page.check(f'#queue tr[data-ref="{free.reference}"] input[name=tickets]')
    page.click("#bulk-form button[value=take]")
    page.wait_for_url("**/console/?view=unassigned")
    assert f"1 ticket changed: {free.reference}." in page.inner_text("main")
    assert _rows(page) == []
    assert in_another_thread(lambda: Ticket.objects.get(pk=free.pk).assignee.username) == "agent_sv"
