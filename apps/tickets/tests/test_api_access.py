"""The REST API keeps the console's scope: a token carries its user's rule, seats need the manager."""

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from apps.accounts.models import ApiToken, hash_token
from apps.accounts.services import create_api_token
from apps.owners.models import OwnerAdmin
from apps.tickets import services


def client_of(user) -> Client:
    return Client(HTTP_AUTHORIZATION=f"Bearer {create_api_token(user=user)}")


@pytest.fixture
def sv_file(sv_ticket, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return services.add_attachment(message=sv_ticket.messages.get(), filename="logg.txt",
                                   content_type="text/plain", data=b"sv")


def references(client, query="") -> set[str]:
    page = client.get(f"/api/tickets{query}").json()
    assert page["count"] == len(page["items"])
    return {item["reference"] for item in page["items"]}


def test_each_token_lists_and_reads_only_its_users_tickets(agent, agent_de, manager, sv_ticket, de_ticket):
    sv, de, usm = client_of(agent), client_of(agent_de), client_of(manager)
    assert references(sv) == {sv_ticket.reference}
    assert references(de) == references(de, "?language=sv") | {de_ticket.reference} == {de_ticket.reference}
    assert references(usm) == {sv_ticket.reference, de_ticket.reference}
    assert de.get(f"/api/tickets/{sv_ticket.reference}").status_code == 404
    assert de.get(f"/api/tickets/{de_ticket.reference}").status_code == 200
    assert sv.get(f"/api/tickets/{sv_ticket.reference}").status_code == 200
    assert usm.get(f"/api/tickets/{sv_ticket.reference}").status_code == 200


def test_a_file_downloads_only_for_those_who_may_see_its_ticket(agent, agent_de, manager, sv_file, sv_ticket):
    url = f"/api/tickets/{sv_ticket.reference}/attachments/{sv_file.pk}"
    assert client_of(agent_de).get(url).status_code == 404
    assert b"".join(client_of(agent).get(url).streaming_content) == b"sv"
    assert client_of(manager).get(url).status_code == 200


def test_a_ticket_assigned_to_an_agent_is_theirs_in_the_api(agent_de, sv_ticket):
    from apps.tickets.models import Ticket

    Ticket.objects.filter(pk=sv_ticket.pk).update(assignee=agent_de)
    assert client_of(agent_de).get(f"/api/tickets/{sv_ticket.reference}").status_code == 200


def test_tokens_are_issued_by_role_not_by_is_staff(owner_admin, db):
    from django.contrib.auth import get_user_model

    staff = get_user_model().objects.create_user("staff", is_staff=True)
    for user in (owner_admin, staff):
        with pytest.raises(ValueError, match="API tokens are issued to them only"):
            create_api_token(user=user)
    with pytest.raises(CommandError, match="not an active agent, User Support Manager or superuser"):
        call_command("create_api_token", "acme_admin1")
    assert not ApiToken.objects.exists()
    root = get_user_model().objects.create_superuser("root", password="pw")
    assert client_of(root).get("/api/tickets").status_code == 200


def test_a_token_stops_working_when_its_user_is_no_longer_an_agent(owner_admin, agent, sv_ticket):
    raw = "sd_old_owner_token"
    ApiToken.objects.create(user=owner_admin, key_hash=hash_token(raw), prefix=raw[:8])   # issued before the rule
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/tickets").status_code == 401
    sv = client_of(agent)
    agent.agent_profile.delete()
    assert sv.get(f"/api/tickets/{sv_ticket.reference}").status_code == 401


def test_only_the_manager_grants_and_revokes_owners_seats(agent_de, manager, owner_admin):
    de, usm = client_of(agent_de), client_of(manager)
    grant = de.post("/api/owners/acme-extensions/admins", {"username": "agent_de"}, content_type="application/json")
    assert grant.status_code == 403 and "User Support Manager" in grant.json()["detail"]
    assert de.delete("/api/owners/acme-extensions/admins/acme_admin1").status_code == 403
    assert list(OwnerAdmin.objects.values_list("user__username", flat=True)) == ["acme_admin1"]
    assert usm.delete("/api/owners/acme-extensions/admins/acme_admin1").status_code == 204
    granted = usm.post("/api/owners/acme-extensions/admins", {"username": "acme_admin1"},
                       content_type="application/json")
    assert granted.status_code == 201 and granted.json()["seat"] == 1
