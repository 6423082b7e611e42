"""The one access rule for a ticket: the queryset and the per-object check always agree."""

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.tickets import access
from apps.tickets.models import Ticket

User = get_user_model()


def visible(user) -> set[str]:
    return set(access.visible_tickets(user).values_list("reference", flat=True))


def acting(user) -> set[str]:
    return {ticket.reference for ticket in Ticket.objects.all() if access.can_act_on(user, ticket)}


@pytest.fixture
def sv_call(contact):
    return actions.open_ticket(channel="voice", contact=contact, subject="", body="", external_ref="CA1")


def test_an_agent_works_their_languages_on_their_channels(agent, agent_de, sv_ticket, de_ticket):
    assert visible(agent) == acting(agent) == {sv_ticket.reference}
    assert visible(agent_de) == acting(agent_de) == {de_ticket.reference}


def test_a_chat_only_agent_does_not_see_calls_of_their_language(contact, sv_call, sv_ticket):
    chats_only = User.objects.create_user("sv_chat")
    make_agent(user=chats_only, languages=["sv"], channels=["chat"])
    assert visible(chats_only) == acting(chats_only) == set()


def test_what_is_assigned_to_an_agent_stays_theirs_whatever_its_language(agent_de, sv_ticket):
    Ticket.objects.filter(pk=sv_ticket.pk).update(assignee=agent_de)
    assert visible(agent_de) == acting(agent_de) == {sv_ticket.reference}


def test_the_manager_and_superusers_see_everything(manager, sv_ticket, de_ticket, sv_call):
    root = User.objects.create_superuser("root", password="pw")
    everything = {sv_ticket.reference, de_ticket.reference, sv_call.reference}
    assert visible(manager) == acting(manager) == everything
    assert visible(root) == acting(root) == everything
    assert access.is_manager(manager) and access.is_manager(root)


def test_owner_admins_and_plain_staff_work_no_ticket(owner_admin, sv_ticket, de_ticket):
    staff = User.objects.create_user("staff", is_staff=True)
    for user in (owner_admin, staff):
        assert visible(user) == acting(user) == set()
        assert not access.works_tickets(user) and not access.is_manager(user)


def test_a_changed_profile_applies_to_the_same_user_object_at_once(agent, sv_ticket, de_ticket):
    assert agent.agent_profile.languages == ["sv"]      # loaded on the object, as a socket's user holds it
    type(agent.agent_profile).objects.filter(user=agent).update(languages=["de"], channels=["email"])
    assert not access.can_act_on(agent, sv_ticket) and access.can_act_on(agent, de_ticket)
    assert visible(agent) == {de_ticket.reference}


def test_a_deactivated_agent_works_nothing(agent, sv_ticket):
    User.objects.filter(pk=agent.pk).update(is_active=False)
    assert not access.can_act_on(agent, sv_ticket)
    assert not access.can_act_on_ticket_id(agent, sv_ticket.pk)
    assert visible(agent) == set()


def test_who_hears_what_only_managers_hear_is_who_the_rule_calls_a_manager(manager, agent, owner_admin):
    """SLA breach mails and Jira alerts go to ``managers()``: the same people ``is_manager`` lets act,
    superusers included, nobody inactive, each once however many roles they hold."""
    from apps.accounts.roles import Role
    from apps.accounts.selectors import managers
    from apps.accounts.services import ensure_role_groups

    root = User.objects.create_superuser("root", email="root@example.com", password="pw")
    root.groups.add(ensure_role_groups()[Role.SUPPORT_MANAGER])
    gone = User.objects.create_user("gone", email="gone@example.com", is_active=False)
    make_agent(user=gone, languages=["sv"], channels=["chat"], manager=True)
    staff = User.objects.create_user("staff", is_staff=True)
    everyone = [manager, agent, owner_admin, root, gone, staff]
    assert sorted(managers().values_list("username", flat=True)) == sorted(
        user.username for user in everyone if access.is_manager(user)) == sorted([manager.username, "root"])
