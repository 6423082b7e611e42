"""An agent types into the console's search box and lands on the ticket database's results, then on a ticket."""

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.owners.models import Extension, ExtensionOwner
from apps.tickets import services as tickets
from apps.tickets.models import Ticket
from tests.browser.test_accessibility import audit

pytestmark = pytest.mark.django_db(transaction=True)
T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)

DOT = """cell => { const dot = getComputedStyle(cell, '::before');
                  return {colour: dot.backgroundColor, shown: parseFloat(dot.width) > 4,
                          word: cell.textContent.trim()}; }"""


@pytest.fixture
def searchable(regions, queues):
    """Written before Playwright starts its event loop in this thread: an agent, a resolved and a new ticket."""
    agent = get_user_model().objects.create_user("agent_sv", password="pw-agent-sv")
    make_agent(user=agent, languages=["sv"], channels=["email"], time_zone="Europe/Stockholm")
    contact = tickets.find_or_create_contact(email="ada@example.com", name="Ada Lind", language="sv",
                                             region=regions["europe"])
    stairs = Extension.objects.create(name="Stairs", slug="acme-stairs",
                                      owner=ExtensionOwner.objects.create(name="Acme", slug="acme-extensions"))
    old = actions.open_ticket(channel="email", contact=contact, subject="Trappräcket försvinner",
                              body="Räcket försvinner när jag ritar trappan.", external_ref="<old@example.com>",
                              received_at=T0)
    Ticket.objects.filter(pk=old.pk).update(status="resolved", scope="extension", extension=stairs, category="bug")
    new = actions.open_ticket(channel="email", contact=contact, subject="Räcket syns inte",
                              body="Trappräcket försvinner i ritningen igen.", external_ref="<new@example.com>",
                              received_at=T0 + timedelta(days=1))
    return old, new


def test_the_search_box_finds_a_ticket_and_its_similar_resolved_one(searchable, desk_server, browser, artifacts):
    old, new = searchable
    page = browser.new_page(locale="sv-SE")
    page.goto(f"{desk_server}/accounts/login/?next=/console/")
    page.fill("#id_username", "agent_sv")
    page.fill("#id_password", "pw-agent-sv")
    page.click("button[type=submit]")
    page.wait_for_url("**/console/")

    page.click("#console-search")
    page.keyboard.type("trappräcket")
    page.keyboard.press("Enter")
    page.wait_for_url("**/console/search/?q=trappr%C3%A4cket")
    rows = page.eval_on_selector_all("#results tbody tr", "rows => rows.map(row => row.dataset.ref)")
    assert sorted(rows) == sorted([old.reference, new.reference])
    old_row = page.inner_text(f'#results tr[data-ref="{old.reference}"]')
    assert "Löst" in old_row and "Svenska" in old_row and "E-post" in old_row     # words in the agent's language
    assert "2026-03-03 10:00" in old_row                                         # 09:00 UTC, in Stockholm
    # The lists' status dot, coloured by status, before the status's word (the dot itself says nothing).
    dots = {ref: page.eval_on_selector(f'#results tr[data-ref="{ref}"] td.status', DOT)
            for ref in (old.reference, new.reference)}
    assert dots[old.reference] == {"colour": "rgb(21, 128, 61)", "shown": True, "word": "Löst"}
    assert dots[new.reference] == {"colour": "rgb(36, 84, 200)", "shown": True, "word": "Nytt"}
    assert page.input_value("#console-search") == "trappräcket"
    audit(page, "the ticket database")
    # The export through daphne: all matches, labels in the agent's language (the API request context
    # shares the page's cookies, not its locale).
    export = page.request.get(desk_server + page.get_attribute("#export-csv", "href"),
                              headers={"Accept-Language": "sv-SE"})
    assert export.ok and export.headers["content-type"] == "text/csv; charset=utf-8"
    lines = export.text().splitlines()
    assert lines[0].startswith("reference,received_at,subject,status,status_label") and len(lines) == 3
    assert any(line.startswith(f"{old.reference},2026-03-03T10:00:00+01:00,") and ",resolved,Löst," in line
               for line in lines)
    page.screenshot(path=str(artifacts / "console-search.png"), full_page=True)
    # On a phone: the queue's compact rows, the subject across the row (it was one word per line), above the filters.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert page.eval_on_selector(f'#results tr[data-ref="{old.reference}"] td.subject', "td => td.offsetWidth") > 300
    assert page.evaluate("document.querySelector('.results').getBoundingClientRect().top < "
                         "document.getElementById('search-filters').getBoundingClientRect().top")
    page.screenshot(path=str(artifacts / "console-search-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 720})

    page.fill("#console-search", "ingenting-sådant")
    page.press("#console-search", "Enter")
    page.wait_for_selector("#no-results")
    assert "ingenting-sådant" in page.inner_text("#no-results")

    page.go_back()
    page.click(f'#results tr[data-ref="{new.reference}"] a')
    page.wait_for_selector("#similar-tickets")
    assert old.reference in page.inner_text("#similar-tickets")
    page.click(f'#similar-tickets li[data-ref="{old.reference}"] .copy-triage')
    assert page.eval_on_selector("#triage-form", "f => [f.scope.value, f.extension.value, f.category.value]") == [
        "extension", "acme-stairs", "bug"]
