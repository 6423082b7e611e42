"""Shared fixtures: demo-like regions, queues, agents and contacts on the real database."""

import pytest


@pytest.fixture
def regions(db):
    from apps.policy.models import Region

    return {slug: Region.objects.create(slug=slug, name=name, tz_name=tz) for slug, name, tz in [
        ("us", "United States", "America/New_York"),
        ("europe", "Europe", "Europe/Stockholm"),
        ("malaysia", "Malaysia", "Asia/Kuala_Lumpur"),
        ("japan", "Japan", "Asia/Tokyo"),
    ]}


@pytest.fixture
def queues(db):
    from apps.policy.languages import Language
    from apps.routing.models import Queue

    return {(lang, kind): Queue.objects.create(language=lang, kind=kind, name=f"{lang} {kind}")
            for lang in Language.values for kind in Queue.Kind.values}


@pytest.fixture
def contact(regions):
    from apps.tickets.models import Contact

    return Contact.objects.create(name="Ada Lind", email="ada@example.com", language="sv",
                                  region=regions["europe"])


@pytest.fixture
def agent(db):
    from django.contrib.auth import get_user_model

    from apps.accounts.services import make_agent

    user = get_user_model().objects.create_user("agent_sv", password="pw")
    make_agent(user=user, languages=["sv"], channels=["chat", "voice", "email"])
    return user


@pytest.fixture
def api_client(agent, client):
    """A test client sending a real staff bearer token."""
    from apps.accounts.services import create_api_token

    token = create_api_token(user=agent)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client
