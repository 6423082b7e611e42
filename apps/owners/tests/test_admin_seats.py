import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from apps.owners import services
from apps.owners.models import ExtensionOwner, OwnerAdmin

User = get_user_model()


@pytest.fixture
def owner(db):
    return ExtensionOwner.objects.create(name="Acme Extensions", slug="acme-extensions")


def users(*names):
    return [User.objects.create_user(name, password="pw") for name in names]


def test_two_admins_get_seats_one_and_two_and_the_owner_admin_role(owner):
    first, second = users("a1", "a2")
    assert services.grant_owner_admin(owner=owner, user=first).seat == 1
    assert services.grant_owner_admin(owner=owner, user=second).seat == 2
    assert first.groups.filter(name="Owner admin").exists()


def test_a_third_admin_is_refused_with_a_clear_error(owner):
    a1, a2, a3 = users("a1", "a2", "a3")
    services.grant_owner_admin(owner=owner, user=a1)
    services.grant_owner_admin(owner=owner, user=a2)
    with pytest.raises(services.SeatLimitReached, match="already has 2 administrators"):
        services.grant_owner_admin(owner=owner, user=a3)
    assert OwnerAdmin.objects.filter(owner=owner).count() == 2
    assert not a3.groups.exists()


def test_granting_again_is_idempotent_and_revoking_frees_the_seat(owner):
    a1, a2, a3 = users("a1", "a2", "a3")
    services.grant_owner_admin(owner=owner, user=a1)
    services.grant_owner_admin(owner=owner, user=a1)
    services.grant_owner_admin(owner=owner, user=a2)
    services.revoke_owner_admin(owner=owner, user=a1)
    assert services.grant_owner_admin(owner=owner, user=a3).seat == 1


def test_the_database_refuses_a_third_seat_even_without_the_service(owner):
    from django.db import IntegrityError

    (a1,) = users("a1")
    with pytest.raises(IntegrityError):
        OwnerAdmin.objects.create(owner=owner, user=a1, seat=3)


@pytest.mark.django_db(transaction=True)
def test_concurrent_grants_never_exceed_two_seats():
    owner = ExtensionOwner.objects.create(name="Race", slug="race")
    candidates = users(*[f"r{i}" for i in range(6)])
    outcomes = []
    barrier = threading.Barrier(len(candidates))

    def grant(user):
        barrier.wait()
        try:
            services.grant_owner_admin(owner=owner, user=user)
            outcomes.append("granted")
        except services.SeatLimitReached:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=grant, args=(user,)) for user in candidates]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["granted"] * 2 + ["refused"] * 4
    assert OwnerAdmin.objects.filter(owner=owner).count() == 2


def test_the_admin_site_refuses_a_third_admin(owner, admin_client):
    a1, a2, a3 = users("a1", "a2", "a3")
    for user in (a1, a2):
        response = admin_client.post("/admin/owners/owneradmin/add/", {"owner": owner.pk, "user": user.pk})
        assert response.status_code == 302
    response = admin_client.post("/admin/owners/owneradmin/add/", {"owner": owner.pk, "user": a3.pk})
    assert response.status_code == 200
    assert "already has 2 administrators" in response.content.decode()
    assert OwnerAdmin.objects.filter(owner=owner).count() == 2


@pytest.fixture
def manager_api_client(client, db):
    """Seats are granted and revoked by the User Support Manager (an agent's token gets 403)."""
    from apps.accounts.services import create_api_token, make_agent

    manager = User.objects.create_user("usm")
    make_agent(user=manager, languages=["en"], channels=["email"], manager=True)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {create_api_token(user=manager)}"
    return client


def test_the_api_refuses_a_third_admin_with_409(owner, manager_api_client):
    api_client = manager_api_client
    users("a1", "a2", "a3")
    for name, expected in [("a1", 201), ("a2", 201), ("a3", 409)]:
        response = api_client.post(f"/api/owners/{owner.slug}/admins", {"username": name},
                                   content_type="application/json")
        assert response.status_code == expected, response.content
    assert "already has 2 administrators" in response.json()["detail"]
    assert api_client.delete(f"/api/owners/{owner.slug}/admins/a1").status_code == 204
    assert OwnerAdmin.objects.filter(owner=owner).count() == 1
