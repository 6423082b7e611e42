"""The demo switch: chat and phone answer open whatever the hours, languages still apply."""

from datetime import UTC, datetime

import pytest
import time_machine

from apps.policy.models import DemoMode
from apps.policy.services import availability, demo_mode_on, set_demo_mode

SATURDAY = datetime(2026, 12, 5, 15, 0, tzinfo=UTC)           # 16:00 in Stockholm, the 24x5 window closed
CHRISTMAS_DAY = datetime(2025, 12, 25, 10, 0, tzinfo=UTC)     # a Thursday; Swedish phones closed


def ask(regions, channel, language, region, at):
    return availability(channel=channel, language=language, region=regions[region], at=at)


def test_the_switch_is_off_on_a_new_install_and_without_its_row(regions):
    # The migration's row is off (a transactional test before this one may have flushed it).
    assert not DemoMode.objects.filter(always_open=True).exists()
    assert demo_mode_on() is False
    DemoMode.objects.all().delete()
    assert demo_mode_on() is False


def test_with_the_switch_off_chat_is_closed_on_a_saturday_until_the_window_opens(regions):
    chat = ask(regions, "chat", "sv", "europe", SATURDAY)
    assert (chat.open, chat.reason, chat.demo) == (False, "closed", False)
    assert chat.next_opening == datetime(2026, 12, 6, 22, 0, tzinfo=UTC)     # Monday 06:00 in Kuala Lumpur


def test_with_the_switch_on_chat_and_phone_are_open_on_a_saturday(regions):
    set_demo_mode(on=True)
    chat = ask(regions, "chat", "sv", "europe", SATURDAY)
    phone = ask(regions, "voice", "en", "us", SATURDAY)
    assert (chat.open, chat.reason, chat.next_opening, chat.demo) == (True, "open", None, True)
    assert (phone.open, phone.next_opening, phone.demo) == (True, None, True)


def test_with_the_switch_on_phones_are_open_on_a_national_holiday(regions):
    assert ask(regions, "voice", "sv", "europe", CHRISTMAS_DAY).open is False
    set_demo_mode(on=True)
    assert ask(regions, "voice", "sv", "europe", CHRISTMAS_DAY).open is True


@pytest.mark.parametrize("channel,language,region", [
    ("chat", "ja", "japan"), ("chat", "zh-hans", "malaysia"), ("voice", "de", "europe"), ("voice", "es", "europe")])
def test_with_the_switch_on_the_language_rules_still_apply(regions, channel, language, region):
    set_demo_mode(on=True)
    answer = ask(regions, channel, language, region, SATURDAY)
    assert (answer.open, answer.reason, answer.demo) == (False, "language_not_served", False)


def test_the_switch_leaves_email_to_the_window(regions):
    set_demo_mode(on=True)
    email = ask(regions, "email", "sv", "europe", SATURDAY)
    assert (email.open, email.next_opening) == (False, datetime(2026, 12, 6, 22, 0, tzinfo=UTC))


def test_setting_the_switch_twice_keeps_one_row(regions):
    set_demo_mode(on=True)
    set_demo_mode(on=False)
    set_demo_mode(on=True)
    assert list(DemoMode.objects.values_list("pk", "always_open")) == [(1, True)]


@time_machine.travel(SATURDAY, tick=False)
def test_the_public_availability_answer_says_when_demo_mode_keeps_a_channel_open(client, regions):
    query = {"channel": "voice", "language": "sv", "region": "europe"}
    closed = client.get("/api/availability", query).json()
    assert (closed["open"], closed["demo_mode"], closed["next_opening"]) == (False, False, "2026-12-07T07:00:00Z")
    set_demo_mode(on=True)
    demo = client.get("/api/availability", query).json()
    assert (demo["open"], demo["reason"], demo["demo_mode"], demo["next_opening"]) == (True, "open", True, None)


def test_the_admin_shows_the_switch_and_warns_on_the_hours_pages(admin_client, regions):
    page = admin_client.get("/admin/policy/demomode/1/change/")
    assert page.status_code == 200 and b"always_open" in page.content
    assert b"Demo mode is on" not in admin_client.get("/admin/policy/channelrule/").content
    response = admin_client.post("/admin/policy/demomode/1/change/", {"always_open": "on"})
    assert response.status_code == 302 and demo_mode_on()
    for url in ["/admin/policy/channelrule/", "/admin/policy/servicewindow/", "/admin/policy/region/"]:
        assert b"Demo mode is on" in admin_client.get(url).content, url
    assert admin_client.get("/admin/policy/demomode/add/").status_code == 403        # one row only
