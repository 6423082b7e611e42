"""The admin keeps the ticket rule: agents see their scope read-only, the manager edits through the services."""

import importlib

from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.test import Client

from apps.accounts.services import ensure_role_groups
from apps.tickets.models import Contact, Ticket, TicketEvent


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(obj) -> str:
    return f"/admin/{obj._meta.app_label}/{obj._meta.model_name}/{obj.pk}/change/"


def form_data(client, url, **changes) -> dict:
    """What the change page would post: its form's values and the inlines' management forms."""
    context = client.get(url).context
    form = context["adminform"].form
    data = {name: form.initial.get(name) or "" for name in form.fields}
    for inline in context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{management.prefix}-{name}": value for name, value in management.initial.items()})
    return {**data, **changes}


def test_an_agent_sees_only_their_scope_in_the_admin_and_changes_nothing(agent_de, sv_ticket, de_ticket):
    de = signed_in(agent_de)
    listing = de.get("/admin/tickets/ticket/").content.decode()
    assert de_ticket.reference in listing and sv_ticket.reference not in listing
    messages = de.get("/admin/tickets/message/").content.decode()
    assert str(de_ticket.reference) in messages and str(sv_ticket.reference) not in messages
    assert de.get(change_url(sv_ticket)).status_code == 404
    assert de.get(change_url(sv_ticket.contact)).status_code == 404
    assert de.get(change_url(sv_ticket.messages.get())).status_code == 404
    assert de.get(change_url(de_ticket)).status_code == 200           # read-only
    refused = de.post(change_url(de_ticket), {"status": "resolved", "assignee": agent_de.pk})
    assert refused.status_code == 403
    assert de.post(change_url(de_ticket.contact), {"email": "mallory@evil.example"}).status_code == 403
    assert de.post("/admin/tickets/ticket/", {"action": "mark_resolved", "_selected_action": [de_ticket.pk]}
                   ).status_code in (200, 302)
    assert Ticket.objects.get(pk=de_ticket.pk).status == "new"
    assert Contact.objects.get(pk=de_ticket.contact_id).email == "kai@example.de"


def test_agents_and_owner_admins_get_no_job_queues(agent_de, manager, owner_admin):
    assert signed_in(agent_de).get("/django-rq/").status_code == 404
    assert signed_in(owner_admin).get("/django-rq/").status_code == 404
    assert signed_in(manager).get("/django-rq/").status_code == 200
    assert Client().get("/django-rq/").status_code == 302       # to the admin's login


def test_an_owner_admin_gets_404_for_tickets_in_the_admin(owner_admin, sv_ticket):
    client = signed_in(owner_admin)
    assert client.get(change_url(sv_ticket)).status_code == 404
    assert client.get("/admin/tickets/ticket/").status_code == 403


def test_the_managers_status_edit_goes_through_the_services_and_is_logged(manager, agent, sv_ticket):
    client = signed_in(manager)
    url = change_url(sv_ticket)
    assert client.get(url).status_code == 200
    response = client.post(url, form_data(client, url, status="resolved", assignee=agent.pk))
    assert response.status_code == 302, response.context["adminform"].form.errors
    ticket = Ticket.objects.get(pk=sv_ticket.pk)
    assert (ticket.status, ticket.assignee, ticket.resolved_at is not None) == ("resolved", agent, True)
    status = TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.STATUS)
    assert (status.data, status.actor) == ({"from": "new", "to": "resolved"}, manager)
    assert TicketEvent.objects.get(ticket=ticket, kind=TicketEvent.Kind.ASSIGNED).data["to"] == agent.pk


def test_the_admin_refuses_what_the_console_refuses(manager, agent_de, sv_ticket):
    client = signed_in(manager)
    url = change_url(sv_ticket)
    for change in ({"status": "closed"}, {"assignee": agent_de.pk}):     # new -> closed; de takes no sv
        response = client.post(url, form_data(client, url, **change))
        assert response.status_code == 200 and response.context["adminform"].form.errors
    assert Ticket.objects.get(pk=sv_ticket.pk).status == "new"
    assert not TicketEvent.objects.filter(ticket=sv_ticket, kind__in=["status", "assigned"]).exists()


def test_a_contacts_new_address_is_logged_on_their_tickets(manager, sv_ticket):
    client = signed_in(manager)
    url = change_url(sv_ticket.contact)
    response = client.post(url, form_data(client, url, email="ada.lind@example.com"))
    assert response.status_code == 302
    assert Contact.objects.get(pk=sv_ticket.contact_id).email == "ada.lind@example.com"
    event = TicketEvent.objects.get(ticket=sv_ticket, kind=TicketEvent.Kind.CONTACT)
    assert event.actor == manager
    assert event.data["changed"] == {"email": {"from": "ada@example.com", "to": "ada.lind@example.com"}}


def test_the_agent_role_no_longer_changes_tickets_or_contacts(db):
    agent_role = ensure_role_groups()["Agent"]
    codenames = set(agent_role.permissions.values_list("codename", flat=True))
    assert "view_ticket" in codenames and not codenames & {"change_ticket", "change_contact"}


def test_the_migration_takes_the_change_permissions_from_an_existing_agent_group(db):
    group = Group.objects.create(name="Agent")
    group.permissions.set(Permission.objects.filter(
        content_type__app_label="tickets", codename__in=["view_ticket", "change_ticket", "change_contact"]))
    migration = importlib.import_module("apps.accounts.migrations.0002_agents_no_longer_change_tickets")
    migration.revoke(apps, None)
    assert list(group.permissions.values_list("codename", flat=True)) == ["view_ticket"]
