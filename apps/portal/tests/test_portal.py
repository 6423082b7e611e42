"""The owner portal: each owner's admins see only their extensions' tickets, and can send one back."""

import pytest
from django.contrib.auth import get_user_model
from django.core import mail

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.jira_sync.models import JiraLink
from apps.owners.models import Extension, ExtensionOwner
from apps.owners.services import grant_owner_admin
from apps.tickets.models import Message, TicketEvent
from apps.tickets.services import Actor

User = get_user_model()


@pytest.fixture
def owners(db):
    acme = ExtensionOwner.objects.create(name="Acme Plugins", slug="acme")
    nordic = ExtensionOwner.objects.create(name="Nordic Kitchens", slug="nordic")
    return {
        "acme": acme, "nordic": nordic,
        "charts": Extension.objects.create(name="Acme Charts", slug="acme-charts", owner=acme),
        "lights": Extension.objects.create(name="Acme Lights", slug="acme-lights", owner=acme, trained_specialist=True),
        "cabinets": Extension.objects.create(name="NK Cabinets", slug="nk-cabinets", owner=nordic),
    }


def seat(owner, username):
    user = User.objects.create_user(username, email=f"{username}@example.org", password="pw")
    grant_owner_admin(owner=owner, user=user)
    return user


def triaged(contact, extension, ref, category="bug"):
    ticket = actions.open_ticket(channel="email", contact=contact, subject=f"About {extension.name}",
                                 body="It breaks.", external_ref=ref)
    actions.triage_ticket(ticket=ticket, scope="extension", category=category, extension=extension,
                          actor=Actor(label="test"))
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def tickets(contact, owners, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    charts = triaged(contact, owners["charts"], "p1")
    trained = triaged(contact, owners["lights"], "p2", category="functionality_question")
    cabinets = triaged(contact, owners["cabinets"], "p3")
    core = actions.open_ticket(channel="email", contact=contact, subject="Core", body="Core.", external_ref="p4")
    return {"charts": charts, "trained": trained, "cabinets": cabinets, "core": core}


def test_an_owner_admin_signs_in_to_the_portal_and_sees_only_their_tickets(client, owners, tickets):
    seat(owners["acme"], "acme_admin1")
    response = client.post("/accounts/login/", {"username": "acme_admin1", "password": "pw"})
    assert response.status_code == 302 and response["Location"] == "/owners/"
    page = client.get("/owners/").content.decode()
    assert f'href="/owners/tickets/{tickets["charts"].reference}/"' in page
    for hidden in ("trained", "cabinets", "core"):      # the trained agents', the other owner's, the vendor's
        assert tickets[hidden].reference not in page
    assert client.get(f"/owners/tickets/{tickets['cabinets'].reference}/").status_code == 404
    assert client.get(f"/owners/tickets/{tickets['core'].reference}/").status_code == 404
    assert client.get("/console/").status_code == 403
    assert client.get(f"/console/tickets/{tickets['charts'].reference}/").status_code == 404
    assert client.get(f"/api/tickets/{tickets['charts'].reference}").status_code == 401


def test_the_portal_names_its_admin_by_their_name(client, owners):
    admin = seat(owners["acme"], "acme_admin1")
    admin.first_name, admin.last_name = "Alex", "Moreno"
    admin.save()
    client.force_login(admin)
    assert '<span class="user">Alex Moreno</span>' in client.get("/owners/").content.decode()


def test_the_ticket_page_shows_the_users_words_and_shared_notes_never_other_notes(client, owners, tickets, contact):
    ticket = tickets["charts"]
    agent = User.objects.create_user("agent_sv")
    make_agent(user=agent, languages=["sv"], channels=["email"])
    actions.add_message(ticket=ticket, direction=Message.Direction.NOTE, body="Shared: customer runs 2.3.1",
                        author_user=agent, shared_with_owner=True)
    actions.add_message(ticket=ticket, direction=Message.Direction.NOTE, body="Private: VIP, be quick",
                        author_user=agent)
    client.force_login(seat(owners["acme"], "acme_admin1"))
    page = client.get(f"/owners/tickets/{ticket.reference.lower()}/").content.decode()
    assert "It breaks." in page and "Shared: customer runs 2.3.1" in page and "Private" not in page
    assert "Forwarded to owner" in page and "waits for the owner&#x27;s Jira connection" in page


def test_not_ours_returns_the_ticket_to_triage_and_alerts_the_manager_at_once(client, owners, tickets):
    manager = User.objects.create_user("usm", email="usm@example.com")
    make_agent(user=manager, languages=["sv"], channels=["email"], manager=True)
    ticket = tickets["charts"]
    admin = seat(owners["acme"], "acme_admin2")
    client.force_login(admin)
    response = client.post(f"/owners/tickets/{ticket.reference}/not-ours/", {"reason": "This is the core chart."})
    assert response.status_code == 302 and response["Location"] == "/owners/"
    ticket.refresh_from_db()
    assert (ticket.scope, ticket.extension, ticket.status) == ("untriaged", None, "open")
    assert JiraLink.objects.get(ticket=ticket).state == "returned"
    returned = ticket.events.get(kind=TicketEvent.Kind.TRIAGED, data__returned_from="acme-charts")
    assert returned.actor == admin and returned.data["reason"] == "This is the core chart."
    [alert] = [m for m in mail.outbox if m.to == ["usm@example.com"]] or _sent_by_outbox()
    assert ticket.reference in alert.subject
    # It has left the owner's list, and its page is closed to them now.
    listed = client.get("/owners/").content.decode()
    assert f"{ticket.reference} was returned to the support desk" in listed       # the confirmation, once
    assert f'/owners/tickets/{ticket.reference}/"' not in listed and ticket.reference not in client.get(
        "/owners/").content.decode()
    assert client.get(f"/owners/tickets/{ticket.reference}/").status_code == 404


def _sent_by_outbox():
    from apps.outbox.services import deliver_due

    deliver_due()
    return [m for m in mail.outbox if m.to == ["usm@example.com"]]


def test_agents_and_strangers_get_no_portal(client, owners, tickets):
    agent = User.objects.create_user("agent_sv")
    make_agent(user=agent, languages=["sv"], channels=["email"])
    client.force_login(agent)
    assert client.get("/owners/").status_code == 404
    client.logout()
    assert client.get("/owners/").status_code == 302        # to the sign-in page
    assert client.post(f"/owners/tickets/{tickets['charts'].reference}/not-ours/").status_code == 302
    tickets["charts"].refresh_from_db()
    assert tickets["charts"].scope == "extension"


def test_times_reach_the_page_in_utc_marked_for_the_viewers_zone(client, owners, tickets):
    """Without scripts the portal reads UTC, said so; ``portal/local-times.js`` shows each ``<time>``
    in the viewer's zone (the browser test ``tests/browser/test_portal_times.py``)."""
    from datetime import UTC

    seat(owners["acme"], "acme_admin1")
    client.login(username="acme_admin1", password="pw")
    received = tickets["charts"].received_at.astimezone(UTC)
    stamp = (f'<time datetime="{received.isoformat()}" data-local="minute">'
             f'{received:%Y-%m-%d %H:%M} UTC</time>')
    assert stamp in client.get("/owners/").content.decode()
    page = client.get(f"/owners/tickets/{tickets['charts'].reference}/").content.decode()
    assert stamp in page and "portal/local-times" in page
