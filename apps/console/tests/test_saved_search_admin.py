"""Saved searches in the admin follow the search page's rule: an agent's are theirs alone."""

import pytest
from django.contrib.auth.models import Permission

from apps.console.models import SavedSearch

pytestmark = pytest.mark.django_db


def test_staff_see_their_own_saved_searches_in_the_admin_and_a_superuser_sees_all(client, django_user_model):
    ada = django_user_model.objects.create_user("ada", password="pw", is_staff=True)
    ada.user_permissions.add(Permission.objects.get(codename="view_savedsearch"))
    bo = django_user_model.objects.create_user("bo", password="pw")
    SavedSearch.objects.create(user=ada, name="Adas fakturor", params="q=faktura")
    SavedSearch.objects.create(user=bo, name="Bos krascher", params="q=krasch")
    root = django_user_model.objects.create_superuser("root", password="pw")

    client.force_login(ada)
    page = client.get("/admin/console/savedsearch/").content.decode()
    assert "Adas fakturor" in page and "Bos krascher" not in page
    theirs = SavedSearch.objects.get(user=bo)
    assert client.get(f"/admin/console/savedsearch/{theirs.pk}/change/").status_code in (302, 404)

    client.force_login(root)
    page = client.get("/admin/console/savedsearch/").content.decode()
    assert "Adas fakturor" in page and "Bos krascher" in page
