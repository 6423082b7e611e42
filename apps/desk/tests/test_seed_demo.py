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
    # Async for all six; live where the policy serves chat or calls: calls and chat in en/sv, chat in es/de.
    assert sorted(Queue.objects.filter(kind="live").values_list("language", flat=True)) == ["de", "en", "es", "sv"]
    assert Queue.objects.filter(kind="async").count() == 6
    assert Queue.objects.get(language="sv", kind="live").name_sv == "Svenska – Live (chatt, samtal)"
    assert Queue.objects.get(language="de", kind="live").name_de == "Deutsch – Live (Chat)"
    for name in ["agent_en", "agent_sv", "agent_es", "agent_de", "agent_zh", "agent_ja", "manager"]:
        assert users.get(username=name).is_staff
    assert "voice" in users.get(username="agent_sv").agent_profile.channels
    assert users.get(username="agent_sv").get_full_name() == "Sara Berg"     # what a visitor sees in a chat
    assert users.get(username="acme_admin1").get_full_name() == "Alex Moreno"  # what the owner portal shows
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


def test_seed_demo_runs_on_a_fresh_database_with_debug_and_demo_off(db, settings, capsys):
    settings.DEBUG, settings.DEMO = False, False
    call_command("seed_demo")
    assert get_user_model().objects.filter(username="manager").exists()
    assert "Demo data ready" in capsys.readouterr().out


def test_seed_demo_refuses_a_database_with_accounts_of_its_own_unless_asked(db, settings):
    import pytest
    from django.core.management.base import CommandError

    settings.DEBUG, settings.DEMO = False, False
    get_user_model().objects.create_user("lena", password="her own")
    with pytest.raises(CommandError, match="accounts of its own"):
        call_command("seed_demo")
    assert not get_user_model().objects.filter(username="manager").exists()
    call_command("seed_demo", "--force")
    assert get_user_model().objects.filter(username="manager").exists()


def test_demo_mode_allows_seeding_a_desk_with_accounts(db, settings):
    settings.DEBUG, settings.DEMO = False, True
    get_user_model().objects.create_user("lena", password="her own")
    call_command("seed_demo")
    assert get_user_model().objects.filter(username="agent_sv").exists()


def test_seeding_again_keeps_what_an_administrator_edited(db, settings):
    from apps.accounts.models import AgentProfile
    from apps.policy.models import SlaPolicy
    from apps.tickets.models import CannedResponse

    settings.DEBUG = True
    call_command("seed_demo")
    Region.objects.filter(slug="japan").update(tz_name="Asia/Seoul", holiday_categories=["public"])
    SlaPolicy.objects.filter(channel="email").update(response_seconds=4 * 3600)
    AgentProfile.objects.filter(user__username="agent_de").update(languages=["de", "en"], time_zone="UTC")
    Extension.objects.filter(slug="acme-stairs").update(trained_specialist=True)
    Queue.objects.filter(language="sv", kind="live").update(name_en="Swedish hotline")
    CannedResponse.objects.filter(title_en="Greeting").update(body_en="Hello {name}!")
    call_command("seed_demo")
    japan = Region.objects.get(slug="japan")
    assert (japan.tz_name, japan.holiday_categories) == ("Asia/Seoul", ["public"])
    assert SlaPolicy.objects.get(channel="email").response_seconds == 4 * 3600
    assert AgentProfile.objects.values_list("languages", "time_zone").get(user__username="agent_de") == (
        ["de", "en"], "UTC")
    assert Extension.objects.get(slug="acme-stairs").trained_specialist
    assert Queue.objects.get(language="sv", kind="live").name_en == "Swedish hotline"
    assert CannedResponse.objects.get(title_en="Greeting").body_en == "Hello {name}!"


def test_the_demo_has_agents_trained_on_the_trained_specialist_extension(db, settings, capsys):
    from apps.routing.models import AgentState

    settings.DEBUG = True
    call_command("seed_demo")
    lighting = Extension.objects.get(slug="acme-lighting")
    trained = set(AgentState.objects.filter(trained_extensions=lighting).values_list("user__username", flat=True))
    assert trained == {"agent_en", "agent_sv"}
    assert "trained on acme-lighting" in capsys.readouterr().out
    AgentState.objects.get(user__username="agent_sv").trained_extensions.clear()   # the manager's edit
    call_command("seed_demo")
    assert set(AgentState.objects.filter(trained_extensions=lighting).values_list(
        "user__username", flat=True)) == {"agent_en"}
    assert [line for line in capsys.readouterr().out.splitlines() if "trained on" in line][0].split()[-1] == "agent_en"
