"""The contact page, the ticket page's context panel and its merge form: every list obeys the one access rule."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.feedback import services as feedback
from apps.tickets.models import Contact, Ticket, TicketEvent

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
User = get_user_model()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0 + timedelta(hours=4), tick=False):
        yield


def opened(contact, ref, hours, channel="email", language=None, **changes):
    ticket = actions.open_ticket(channel=channel, contact=contact, subject=f"Fråga {ref}", body="Hej.",
                                 external_ref=f"<{ref}@example.com>", received_at=T0 + timedelta(hours=hours),
                                 language=language)
    Ticket.objects.filter(pk=ticket.pk).update(**changes)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def history(contact, agent):
    """Ada's tickets: two Swedish emails and a call the Swedish agent works, a German email and a feedback
    report the agent may not act on (another language; a channel they do not work)."""
    make_agent(user=User.objects.create_user("sara", password="pw"), languages=["sv"], channels=["email"])
    User.objects.filter(username="sara").update(first_name="Sara", last_name="Berg")
    sara = User.objects.get(username="sara")
    sara.agent_profile.display_name = "Sara Berg"
    sara.agent_profile.save()
    return {
        "old": opened(contact, "old", 0, status="resolved", assignee=sara),
        "call": opened(contact, "call", 1, channel="voice"),
        "new": opened(contact, "new", 2),
        "german": opened(contact, "german", 3, language="de"),
        "report": opened(contact, "report", 4, channel="feedback"),
    }


@pytest.fixture
def signed_in(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def manager_client(client, db):
    user = User.objects.create_user("manager", password="pw")
    make_agent(user=user, languages=["en"], channels=["email"], manager=True)
    client.force_login(user)
    return client


def refs(html: str, tickets) -> list[str]:
    """The references in ``html``, in the order they appear."""
    return sorted((t.reference for t in tickets if t.reference in html), key=html.index)


def test_the_contact_page_lists_the_persons_tickets_the_agent_may_open_newest_first(signed_in, contact, history):
    page = signed_in.get(f"/console/contacts/{contact.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Ada Lind" in html and "ada@example.com" in html and "Europe" in html and "Swedish" in html
    assert refs(html, history.values()) == [history["new"].reference, history["call"].reference,
                                            history["old"].reference]
    # Words, not codes: the channel and status, and the assignee's display name.
    assert ">Phone<" in html and ">Email<" in html and "Resolved" in html and "Sara Berg" in html
    assert '<time datetime="2026-03-03T11:00:00+00:00">' in html     # the one date formatter


def test_the_manager_sees_every_ticket_of_the_person(manager_client, contact, history):
    html = manager_client.get(f"/console/contacts/{contact.pk}/").content.decode()
    assert set(refs(html, history.values())) == {t.reference for t in history.values()}


def test_a_person_with_no_ticket_the_agent_may_open_is_not_found(signed_in, regions):
    stranger = Contact.objects.create(name="Hans", email="hans@example.de", language="de")
    opened(stranger, "hans", 0, language="de")
    assert signed_in.get(f"/console/contacts/{stranger.pk}/").status_code == 404
    assert signed_in.get("/console/contacts/999999/").status_code == 404


def test_the_contact_page_needs_an_agent(client, contact, history):
    assert client.get(f"/console/contacts/{contact.pk}/").status_code == 302
    client.force_login(User.objects.create_user("plain", is_staff=True))
    assert client.get(f"/console/contacts/{contact.pk}/").status_code == 403


def test_the_ticket_page_links_the_contact_and_lists_the_other_tickets_it_may(signed_in, contact, history):
    html = signed_in.get(f"/console/tickets/{history['new'].reference}/").content.decode()
    assert f'href="/console/contacts/{contact.pk}/" id="contact-link"' in html
    panel = html[html.index('id="other-tickets"'):]
    assert refs(panel[:panel.index("</ol>")], history.values()) == [history["call"].reference, history["old"].reference]
    # The merge form offers the person's open tickets the agent may act on: not the resolved one, not this one.
    choices = panel[panel.index('id="merge-into"'):]
    assert refs(choices[:choices.index("</select>")], history.values()) == [history["call"].reference]


def test_merging_from_the_ticket_page_goes_to_the_survivor(signed_in, history):
    new, call = history["new"], history["call"]
    response = signed_in.post(f"/console/tickets/{new.reference}/merge/", {"into": call.reference})
    assert response.status_code == 302 and response["Location"] == f"/console/tickets/{call.reference}/"
    assert Ticket.objects.get(pk=new.pk).merged_into_id == call.pk
    merged_page = signed_in.get(f"/console/tickets/{new.reference}/").content.decode()
    assert 'id="merged-notice"' in merged_page and f'href="/console/tickets/{call.reference}/"' in merged_page
    assert 'id="merge-form"' not in merged_page
    survivor_page = signed_in.get(f"/console/tickets/{call.reference}/").content.decode()
    assert f"{new.reference} was merged into this ticket" in survivor_page


def test_a_ticket_merged_where_the_reader_may_not_follow_links_no_survivor(signed_in, contact, history):
    """A manager merged the Swedish email into the person's feedback report, which the Swedish agent may not open."""
    manager = User.objects.create_user("manager", password="pw")
    make_agent(user=manager, languages=["en"], channels=["email"], manager=True)
    new, report = history["new"], history["report"]
    actions.merge_tickets(ticket=new, into=report, user=manager)

    page = signed_in.get(f"/console/tickets/{new.reference}/").content.decode()
    notice = page[page.index('id="merged-notice"'):page.index('id="context-panel"')]
    assert f"merged into {report.reference}, which you may not open" in notice
    assert f'href="/console/tickets/{report.reference}/"' not in page and 'id="merged-into"' not in page
    assert signed_in.get(f"/console/tickets/{report.reference}/").status_code == 404     # what a link would have hit

    # The manager may follow it: the notice links the survivor.
    signed_in.force_login(manager)
    page = signed_in.get(f"/console/tickets/{new.reference}/").content.decode()
    assert f'href="/console/tickets/{report.reference}/" id="merged-into"' in page
    assert "which you may not open" not in page


def test_merging_into_a_ticket_the_agent_may_not_act_on_is_refused(signed_in, history):
    new = history["new"]
    for other in (history["german"], history["report"]):
        page = signed_in.post(f"/console/tickets/{new.reference}/merge/", {"into": other.reference}, follow=True)
        assert "Choose another ticket of this person" in page.content.decode()
    assert not Ticket.objects.filter(merged_into__isnull=False).exists()


def test_a_refused_merge_shows_why_and_changes_nothing(signed_in, history):
    new, old = history["new"], history["old"]
    Ticket.objects.filter(pk=old.pk).update(status=Ticket.Status.CLOSED)
    page = signed_in.post(f"/console/tickets/{new.reference}/merge/", {"into": old.reference}, follow=True)
    assert page.redirect_chain[-1][0] == f"/console/tickets/{new.reference}/"
    assert "is closed: a ticket cannot be merged into it" in page.content.decode()
    assert not TicketEvent.objects.filter(kind=TicketEvent.Kind.MERGED).exists()


def test_a_ticket_outside_the_agents_queues_cannot_be_merged_away(signed_in, history):
    response = signed_in.post(f"/console/tickets/{history['german'].reference}/merge/",
                              {"into": history["new"].reference})
    assert response.status_code == 404
    assert not Ticket.objects.filter(merged_into__isnull=False).exists()


def test_merging_is_a_post(signed_in, history):
    assert signed_in.get(f"/console/tickets/{history['new'].reference}/merge/").status_code == 405


def test_a_feedback_tickets_page_shows_the_app_version_os_and_device(manager_client, regions, queues):
    _key, raw = feedback.issue_api_key(name="Acme Planner iOS 5.1")
    api_key = feedback.authenticate_key(raw)
    ticket = feedback.submit_report(api_key=api_key, report=feedback.Report(
        user_email="ada@example.org", language="sv", product="core", app_version="5.1.2", os="iPadOS 18.2",
        device="iPad Pro 13", message="Appen kraschar."))
    html = manager_client.get(f"/console/tickets/{ticket.reference}/").content.decode()
    panel = html[html.index('id="feedback-report"'):]
    for text in ("Acme Planner iOS 5.1", "Core product", "5.1.2", "iPadOS 18.2", "iPad Pro 13"):
        assert text in panel
    history = html[html.index('id="events"'):]
    assert "feedback:" not in history and "ada@example.org" in history     # the person opened it, not a code
