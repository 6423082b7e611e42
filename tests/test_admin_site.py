"""The admin exposes every model of the desk, and each changelist opens."""

import pytest
from django.apps import apps
from django.contrib import admin


def desk_models():
    return [model for model in apps.get_models() if model.__module__.startswith("apps.")]


def test_every_desk_model_is_registered():
    missing = [model.__name__ for model in desk_models() if not admin.site.is_registered(model)]
    assert not missing, f"not in the admin: {missing}"


@pytest.mark.parametrize("model", desk_models(), ids=lambda m: f"{m._meta.app_label}.{m.__name__}")
def test_each_changelist_opens(admin_client, regions, model):
    url = f"/admin/{model._meta.app_label}/{model._meta.model_name}/"
    assert admin_client.get(url).status_code == 200
