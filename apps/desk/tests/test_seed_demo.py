from django.contrib.auth import get_user_model
from django.core.management import call_command

from apps.accounts.services import user_for_token
from apps.owners.models import Extension, OwnerAdmin
from apps.policy.models import Region
from apps.routing.models import Queue


def test_seed_demo_is_idempotent_and_covers_the_design(db, capsys, settings):
    settings.DEBUG = True
    call_command("seed_demo")
    call_command("seed_demo")
    out = capsys.readouterr().out
    users = get_user_model().objects
    assert set(Region.objects.values_list("slug", flat=True)) == {"us", "europe", "malaysia", "japan"}
    assert Queue.objects.count() == 12
    assert Queue.objects.get(language="sv", kind="live").name_sv
    for name in ["agent_en", "agent_sv", "agent_es", "agent_de", "agent_zh", "agent_ja", "manager"]:
        assert users.get(username=name).is_staff
    assert "voice" in users.get(username="agent_sv").agent_profile.channels
    assert users.get(username="agent_sv").get_full_name() == "Sara Berg"     # what a visitor sees in a chat
    assert "voice" not in users.get(username="agent_de").agent_profile.channels
    assert users.get(username="manager").groups.filter(name="User Support Manager").exists()
    assert Extension.objects.get(slug="acme-lighting").trained_specialist
    assert not Extension.objects.get(slug="acme-stairs").trained_specialist
    assert OwnerAdmin.objects.filter(owner__slug="nordic-kitchens").count() == 2
    assert user_for_token("sd_demo_manager").username == "manager"
    assert "acme_admin1" in out and "sd_demo_manager" in out
    administrator = users.get(username="admin")        # the demo's way into /admin/, printed with the rest
    assert administrator.is_superuser and administrator.check_password("supportdesk") and "admin" in out
    from apps.tickets.models import CannedResponse
    assert CannedResponse.objects.count() == 2
    assert all(getattr(response, f"body_{code}") for response in CannedResponse.objects.all()
               for code in ("en", "sv", "es", "de", "zh_hans", "ja"))


def test_seed_demo_refuses_to_run_with_debug_off(db, settings):
    import pytest
    from django.core.management.base import CommandError

    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG off"):
        call_command("seed_demo")
    assert not get_user_model().objects.exists()
