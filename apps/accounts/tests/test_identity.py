"""One name per agent, and one way to write an instant for them (the console's script writes the same)."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.template import Context, Template
from django.utils import timezone, translation

from apps.accounts.moments import local_text
from apps.accounts.names import display_name, signature
from apps.accounts.services import make_agent, set_language, update_preferences

pytestmark = pytest.mark.django_db

INSTANT = datetime(2026, 12, 5, 7, 17, tzinfo=UTC)


@pytest.fixture
def sara(db):
    user = get_user_model().objects.create_user("agent_sv", first_name="Sara", last_name="Berg")
    make_agent(user=user, languages=["sv"], channels=["email"], time_zone="Europe/Stockholm")
    return user


def test_the_display_name_wins_then_the_full_name_then_the_username(sara):
    assert display_name(sara) == "Sara Berg"
    sara.agent_profile.display_name = "Sara B."
    assert display_name(sara) == "Sara B."
    plain = get_user_model().objects.create_user("admin_only")
    assert display_name(plain) == "admin_only"          # no profile, no names
    assert display_name(None) == "" and signature(None) == ""


def test_preferences_are_stored_trimmed_and_checked(sara):
    profile = update_preferences(profile=sara.agent_profile, display_name="  Sara B.  ", signature="Sara\nSupport\n",
                                 time_zone="Asia/Tokyo", language="ja", notifications=False)
    profile.refresh_from_db()
    assert (profile.display_name, profile.signature, profile.time_zone, profile.language, profile.notifications) == (
        "Sara B.", "Sara\nSupport", "Asia/Tokyo", "ja", False)
    with pytest.raises(ValueError):
        update_preferences(profile=profile, display_name="", signature="", time_zone="Mars/Olympus",
                           language="", notifications=True)
    with pytest.raises(ValueError):
        set_language(profile=profile, language="fr")
    set_language(profile=profile, language="de")
    profile.refresh_from_db()
    assert profile.language == "de"


@pytest.mark.parametrize(("language", "zone", "expected"), [
    ("en", "Europe/Stockholm", "12/5/26, 8:17 AM"),       # a plain space before AM, as Chromium writes it
    ("sv", "Europe/Stockholm", "2026-12-05 08:17"),
    ("de", "Europe/Berlin", "05.12.26, 08:17"),
    ("es", "Europe/Madrid", "5/12/26, 8:17"),
    ("zh-hans", "Asia/Shanghai", "2026/12/5 15:17"),
    ("ja", "Asia/Tokyo", "2026/12/05 16:17"),
    ("en", "America/New_York", "12/5/26, 2:17 AM"),
])
def test_an_instant_reads_in_the_agents_language_and_zone(language, zone, expected):
    assert local_text(INSTANT, language=language, zone=ZoneInfo(zone)) == expected


def test_templates_write_a_machine_readable_time_in_the_active_zone_and_language():
    template = Template("{% load agents %}{{ at|moment }}|{{ none|moment }}")
    with translation.override("sv"), timezone.override(ZoneInfo("Asia/Tokyo")):
        html = template.render(Context({"at": INSTANT, "none": None}))
    assert html == '<time datetime="2026-12-05T07:17:00+00:00">2026-12-05 16:17</time>|—'
