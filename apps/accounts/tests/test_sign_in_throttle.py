"""Guessing passwords stops after a few tries, per account and per address; the right one then waits too."""

from datetime import timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.utils import timezone

from apps.accounts.services import make_agent

pytestmark = pytest.mark.django_db

START = timezone.now().replace(microsecond=0)


@pytest.fixture(autouse=True)
def empty_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def agent_sv(db):
    user = get_user_model().objects.create_user("agent_sv", password="right-password")
    make_agent(user=user, languages=["sv"], channels=["chat", "email"])
    return user


def sign_in(client, username, password, address="203.0.113.7", path="/accounts/login/"):
    return client.post(path, {"username": username, "password": password}, REMOTE_ADDR=address)


@time_machine.travel(START, tick=False)
def test_the_right_password_is_refused_after_too_many_wrong_ones(client, agent_sv, settings):
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_LOCKOUT_SECONDS = 5, 900
    for _ in range(25):
        assert sign_in(client, "agent_sv", "guess").status_code == 200
    refused = sign_in(client, "agent_sv", "right-password")
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    assert "Too many failed sign-ins. Try again in 15 minutes." in refused.content.decode()


def test_the_lockout_ends_and_a_success_clears_the_count(client, agent_sv, settings):
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_LOCKOUT_SECONDS = 5, 900
    with time_machine.travel(START, tick=False) as clock:
        for _ in range(5):
            sign_in(client, "agent_sv", "guess")
        clock.shift(timedelta(minutes=14))
        assert "_auth_user_id" not in sign_in(client, "agent_sv", "right-password").wsgi_request.session
        clock.shift(timedelta(minutes=2))
        assert sign_in(client, "agent_sv", "right-password").status_code == 302
        client.logout()
        for _ in range(4):       # the count started again after the success
            sign_in(client, "agent_sv", "guess")
        assert sign_in(client, "agent_sv", "right-password").status_code == 302


@time_machine.travel(START, tick=False)
def test_one_address_guessing_many_accounts_is_stopped_and_others_are_not(client, agent_sv, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    for number in range(5):
        sign_in(client, f"someone{number}", "guess", address="198.51.100.9")
    assert sign_in(client, "agent_sv", "right-password", address="198.51.100.9").status_code == 200
    assert sign_in(client, "agent_sv", "right-password", address="203.0.113.7").status_code == 302


@time_machine.travel(START, tick=False)
def test_the_admin_sign_in_is_throttled_the_same_way(client, settings):
    settings.LOGIN_FAILURE_LIMIT = 5
    get_user_model().objects.create_superuser("root", password="right-password")
    for _ in range(5):
        sign_in(client, "root", "guess", path="/admin/login/")
    refused = sign_in(client, "root", "right-password", path="/admin/login/")
    assert refused.status_code == 200 and "Too many failed sign-ins" in refused.content.decode()
