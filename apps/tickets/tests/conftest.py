"""The people of the access rule's tests: two agents of different languages, the manager, an owner admin."""

import pytest
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.tickets.models import Contact

User = get_user_model()


@pytest.fixture
def agent_de(db):
    user = User.objects.create_user("agent_de", password="pw")
    make_agent(user=user, languages=["de"], channels=["chat", "email"])
    return User.objects.get(pk=user.pk)


@pytest.fixture
def manager(db):
    user = User.objects.create_user("manager", password="pw")
    make_agent(user=user, languages=["en"], channels=["email"], manager=True)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def owner_admin(db):
    from apps.owners.models import ExtensionOwner
    from apps.owners.services import grant_owner_admin

    user = User.objects.create_user("acme_admin1", password="pw", is_staff=True)
    grant_owner_admin(owner=ExtensionOwner.objects.create(name="Acme", slug="acme-extensions"), user=user)
    return User.objects.get(pk=user.pk)


@pytest.fixture
def sv_ticket(contact):
    return actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="Hej",
                                external_ref="<sv-1@example.com>")


@pytest.fixture
def de_ticket(contact, regions):
    kunde = Contact.objects.create(name="Kai Berg", email="kai@example.de", language="de", region=regions["europe"])
    return actions.open_ticket(channel="email", contact=kunde, subject="Absturz", body="Hallo",
                                external_ref="<de-1@example.com>")
