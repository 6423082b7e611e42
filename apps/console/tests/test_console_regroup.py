"""A console socket follows its agent's languages and channels without a reconnect (real Redis layer)."""

import pytest
from channels.db import database_sync_to_async
from django.test import Client

from apps.accounts.models import AgentProfile
from apps.accounts.services import make_agent
from apps.console.tests.test_console_socket import User, agent, connected, frames_until, run
from apps.desk import actions
from apps.tickets import services as tickets

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def contacts(regions, queues):
    return {language: tickets.find_or_create_contact(email=f"{language}@example.com", language=language,
                                                     region=regions["europe"]) for language in ("sv", "de")}


def opened(contact, ref):
    return database_sync_to_async(actions.open_ticket)(channel="email", contact=contact, subject=ref, body="x",
                                                       external_ref=ref)


async def first_ticket_event(socket) -> str:
    return (await frames_until(socket, lambda f: f.get("type") == "ticket.event"))["ticket"]["reference"]


def test_an_agent_moved_to_another_language_gets_its_events_and_no_longer_the_old_ones(contacts, flushed_layer):
    swede = agent("swede", ["sv"])

    async def scenario():
        socket, ok, _ = await connected(swede)
        assert ok and (await socket.receive_json_from())["type"] == "hello"
        await database_sync_to_async(make_agent)(user=swede, languages=["de"], channels=["email"])
        await frames_until(socket, lambda f: f["type"] == "scope.changed")
        swedish = await opened(contacts["sv"], "sv-1")
        german = await opened(contacts["de"], "de-1")
        assert await first_ticket_event(socket) == german.reference != swedish.reference
        await socket.disconnect()
    run(scenario)


def test_a_profile_edited_in_the_admin_moves_the_agents_open_console(contacts, flushed_layer):
    swede = agent("swede", ["sv"])
    root = User.objects.create_superuser("root", password="pw")
    admin = Client()
    admin.force_login(root)

    def edit_in_admin():
        profile = AgentProfile.objects.get(user=swede)
        response = admin.post(f"/admin/accounts/agentprofile/{profile.pk}/change/", {
            "user": swede.pk, "languages": '["de"]', "channels": '["email"]', "time_zone": "UTC"})
        assert response.status_code == 302, response.content

    async def scenario():
        socket, _, _ = await connected(swede)
        await socket.receive_json_from()
        await database_sync_to_async(edit_in_admin)()
        await frames_until(socket, lambda f: f["type"] == "scope.changed")
        await opened(contacts["sv"], "sv-1")
        german = await opened(contacts["de"], "de-1")
        assert await first_ticket_event(socket) == german.reference
        await socket.disconnect()
    run(scenario)


def test_a_change_whose_push_was_lost_is_caught_up_by_the_next_heartbeat(contacts, flushed_layer):
    swede = agent("swede", ["sv"])

    async def scenario():
        socket, _, _ = await connected(swede)
        await socket.receive_json_from()
        # Written without the service: no push, as when Redis was away at the commit.
        await database_sync_to_async(AgentProfile.objects.filter(user=swede).update)(languages=["de"])
        await socket.send_json_to({"type": "heartbeat"})
        await frames_until(socket, lambda f: f["type"] == "scope.changed")
        await frames_until(socket, lambda f: f["type"] == "heartbeat")
        await opened(contacts["sv"], "sv-1")
        german = await opened(contacts["de"], "de-1")
        assert await first_ticket_event(socket) == german.reference
        await socket.disconnect()
    run(scenario)


def test_an_agent_whose_profile_is_removed_loses_the_console_at_once(contacts, flushed_layer):
    from apps.accounts.services import remove_agent_profile

    swede = agent("swede", ["sv"])
    profile = AgentProfile.objects.get(user=swede)

    async def scenario():
        socket, _, _ = await connected(swede)
        await socket.receive_json_from()
        await database_sync_to_async(remove_agent_profile)(profile=profile)
        assert (await socket.receive_output(timeout=3))["code"] == 4403
    run(scenario)
