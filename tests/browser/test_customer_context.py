"""An agent opens the person's page from a ticket, sees their earlier tickets and merges a duplicate into one."""

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
def person(regions, queues):
    """Written before Playwright starts its event loop: Ada's resolved ticket, a question and its duplicate,
    and a German ticket the Swedish agent may not open."""
    agent = get_user_model().objects.create_user("agent_sv", password="pw-agent-sv")
    make_agent(user=agent, languages=["sv"], channels=["email"], time_zone="Europe/Stockholm")
    contact = tickets.find_or_create_contact(email="ada@example.com", name="Ada Lind", language="sv",
                                             region=regions["europe"])

    def opened(subject, hours, body, language=None, **changes):
        ticket = actions.open_ticket(channel="email", contact=contact, subject=subject, body=body, language=language,
                                     external_ref=f"<{hours}@example.com>", received_at=T0 + timedelta(hours=hours))
        Ticket.objects.filter(pk=ticket.pk).update(**changes)
        return Ticket.objects.get(pk=ticket.pk)
    return {"contact": contact,
            "done": opened("Licensfråga", 0, "Hur förnyar jag licensen?", status="resolved", resolved_at=T0),
            "first": opened("Exporten kraschar", 1, "Exporten till PDF kraschar."),
            "again": opened("Exporten kraschar igen", 2, "Samma krasch, nu med logg."),
            "german": opened("Export stürzt ab", 3, "Der Export stürzt ab.", language="de")}


def test_the_persons_page_and_merging_a_duplicate(person, desk_server, browser, artifacts):
    done, first, again, german = person["done"], person["first"], person["again"], person["german"]
    page = browser.new_page(locale="en-US")
    page.goto(f"{desk_server}/accounts/login/?next=/console/tickets/{again.reference}/")
    page.fill("#id_username", "agent_sv")
    page.fill("#id_password", "pw-agent-sv")
    page.click("button[type=submit]")
    page.wait_for_url(f"**/console/tickets/{again.reference}/")

    # The panel lists the person's other tickets the agent may open; the German one is not among them.
    panel = page.inner_text("#other-tickets")
    assert first.reference in panel and done.reference in panel and german.reference not in panel
    page.screenshot(path=str(artifacts / "console-context-panel.png"), full_page=True)

    page.click("#contact-link")
    page.wait_for_url(f"**/console/contacts/{person['contact'].pk}/")
    rows = page.eval_on_selector_all("#contact-tickets tbody tr", "rows => rows.map(r => r.dataset.ref)")
    assert rows == [again.reference, first.reference, done.reference]          # newest first
    assert page.inner_text(f'#contact-tickets tr[data-ref="{done.reference}"] td.status') == "Resolved"
    assert page.inner_text(f'#contact-tickets tr[data-ref="{first.reference}"] td.channel') == "Email"
    assert page.inner_text("#contact-region") == "Europe" and page.inner_text("#contact-language") == "Swedish"
    page.screenshot(path=str(artifacts / "console-contact.png"), full_page=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.screenshot(path=str(artifacts / "console-contact-phone.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 800})

    # Merge the duplicate into the first question: the survivor's page shows both threads in order.
    page.click(f'#contact-tickets tr[data-ref="{again.reference}"] a')
    page.wait_for_url(f"**/console/tickets/{again.reference}/")
    page.select_option("#merge-into", first.reference)
    page.click("#merge-button")
    page.wait_for_url(f"**/console/tickets/{first.reference}/")
    thread = page.eval_on_selector_all("#thread li .body", "items => items.map(i => i.innerText.trim())")
    assert thread == ["Exporten till PDF kraschar.", "Samma krasch, nu med logg."]
    assert f"{again.reference} was merged into this ticket" in page.inner_text("#events")
    page.screenshot(path=str(artifacts / "console-merged-survivor.png"), full_page=True)
    merged = in_another_thread(lambda: Ticket.objects.get(pk=again.pk))
    assert merged.merged_into_id == first.pk and merged.status == Ticket.Status.CLOSED

    # The merged ticket points to the survivor.
    page.goto(f"{desk_server}/console/tickets/{again.reference}/")
    page.click("#merged-into")
    page.wait_for_url(f"**/console/tickets/{first.reference}/")
