"""The manager's settings pages: only the manager reaches them; each form saves through its service or says
what is wrong, in the manager's language, and saves nothing."""

from datetime import date, time

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.models import AgentProfile
from apps.accounts.services import make_agent
from apps.feedback.models import ApiKey, hash_key
from apps.owners.models import Extension, ExtensionOwner
from apps.policy.models import DateOverride, OpeningPeriod, ServiceWindow
from apps.routing.models import AgentState
from apps.tickets.models import CannedResponse

pytestmark = pytest.mark.django_db

# Monday 7 December 2026, 16:30 UTC: 17:30 in Stockholm, after Europe's 08:00–17:00.
MONDAY_EVENING = "2026-12-07 16:30 +00:00"


@pytest.fixture
def manager(db):
    user = get_user_model().objects.create_user("manager", password="pw")
    make_agent(user=user, languages=["en", "sv"], channels=["email"], manager=True)
    return user


@pytest.fixture
def as_manager(client, manager, regions, queues):
    client.force_login(manager)
    return client


def hours_form(rows: list[tuple[str, str, str]], *, delete: tuple[int, ...] = ()) -> dict:
    data = {"periods-TOTAL_FORMS": str(len(rows)), "periods-INITIAL_FORMS": "0", "periods-MIN_NUM_FORMS": "0",
            "periods-MAX_NUM_FORMS": "1000"}
    for index, (weekday, start, end) in enumerate(rows):
        data.update({f"periods-{index}-weekday": weekday, f"periods-{index}-start": start,
                     f"periods-{index}-end": end})
        if index in delete:
            data[f"periods-{index}-DELETE"] = "on"
    return data


WEEKDAYS_8_TO_17 = [(str(day), "08:00", "17:00") for day in range(5)]

SETTINGS_PAGES = ["/console/settings/", "/console/settings/hours/", "/console/settings/hours/europe/",
                  "/console/settings/dates/", "/console/settings/canned/", "/console/settings/canned/new/",
                  "/console/settings/keys/", "/console/settings/agents/"]


# --- access ---


@pytest.mark.parametrize("url", SETTINGS_PAGES)
def test_an_agent_is_refused_every_settings_page(client, agent, regions, url):
    client.force_login(agent)
    assert client.get(url).status_code == 403


def test_an_agent_cannot_post_a_change_either(client, agent, regions):
    client.force_login(agent)
    response = client.post("/console/settings/hours/europe/", hours_form([("0", "08:00", "18:00")]))
    assert response.status_code == 403
    assert OpeningPeriod.objects.filter(region=regions["europe"], end=time(18)).count() == 0


def test_a_visitor_is_sent_to_sign_in(client, regions):
    response = client.get("/console/settings/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize("url", SETTINGS_PAGES)
def test_the_manager_sees_every_settings_page(as_manager, url):
    assert as_manager.get(url).status_code == 200


def test_a_superuser_without_a_profile_may_use_settings(client, regions):
    client.force_login(get_user_model().objects.create_superuser("root", "root@example.com", "pw"))
    assert client.get("/console/settings/").status_code == 200


def test_the_settings_link_is_shown_to_the_manager_only(as_manager, client, agent):
    assert 'href="/console/settings/"' in as_manager.get("/console/").content.decode()
    client.force_login(agent)
    assert 'href="/console/settings/"' not in client.get("/console/").content.decode()


# --- business hours ---


def test_the_hours_page_shows_each_regions_periods_and_the_service_window(as_manager):
    html = as_manager.get("/console/settings/hours/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "måndag 08:00–17:00" in html                 # Europe, in Swedish
    assert "fredag 20:00 (America/New_York)" in html     # the 24x5 window closes in New York


@time_machine.travel(MONDAY_EVENING, tick=False)
def test_a_later_closing_opens_the_phone_at_once(as_manager, regions):
    query = {"channel": "voice", "language": "sv", "region": "europe"}
    assert as_manager.get("/api/availability", query).json()["open"] is False
    rows = [("0", "08:00", "18:00")] + WEEKDAYS_8_TO_17[1:]
    response = as_manager.post("/console/settings/hours/europe/", hours_form(rows))
    assert response.status_code == 302 and response["Location"] == "/console/settings/hours/"
    assert as_manager.get("/api/availability", query).json()["open"] is True
    assert sorted(regions["europe"].periods.values_list("weekday", "end")) == [
        (0, time(18)), (1, time(17)), (2, time(17)), (3, time(17)), (4, time(17))]


def test_a_removed_row_and_an_empty_row_are_dropped(as_manager, regions):
    rows = WEEKDAYS_8_TO_17 + [("", "", "")]
    as_manager.post("/console/settings/hours/europe/", hours_form(rows, delete=(4,)))
    assert sorted(regions["europe"].periods.values_list("weekday", flat=True)) == [0, 1, 2, 3]


def test_a_closing_before_the_opening_is_refused_in_the_managers_language(as_manager, regions):
    response = as_manager.post("/console/settings/hours/europe/", hours_form([("0", "17:00", "08:00")]),
                               HTTP_ACCEPT_LANGUAGE="sv")
    assert response.status_code == 200
    assert "måndag: stängningstiden 08:00 är inte efter öppningstiden 17:00." in response.content.decode()
    assert regions["europe"].periods.count() == 5          # nothing lost


def test_overlapping_periods_are_refused(as_manager, regions):
    response = as_manager.post("/console/settings/hours/europe/",
                               hours_form([("2", "08:00", "12:00"), ("2", "11:00", "17:00")]))
    assert "Wednesday: 08:00–12:00 and 11:00–17:00 overlap." in response.content.decode()
    assert regions["europe"].periods.count() == 5


def test_a_malformed_time_is_refused_by_the_form(as_manager, regions):
    response = as_manager.post("/console/settings/hours/europe/", hours_form([("0", "8 o'clock", "17:00")]))
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert regions["europe"].periods.count() == 5


def test_an_unknown_region_is_not_found(as_manager):
    assert as_manager.get("/console/settings/hours/atlantis/").status_code == 404


def window_form(**changes) -> dict:
    return {"open_weekday": "0", "open_time": "06:00", "open_tz": "Asia/Kuala_Lumpur", "close_weekday": "4",
            "close_time": "20:00", "close_tz": "America/New_York", **changes}


def test_the_service_window_closes_earlier_on_friday(as_manager):
    window = ServiceWindow.objects.get()
    response = as_manager.post(f"/console/settings/windows/{window.pk}/", window_form(close_time="18:00"))
    assert response.status_code == 302
    window.refresh_from_db()
    assert window.close_time == time(18)


def test_a_window_that_closes_when_it_opens_is_refused(as_manager):
    window = ServiceWindow.objects.get()
    response = as_manager.post(f"/console/settings/windows/{window.pk}/", window_form(
        close_weekday="0", close_time="06:00", close_tz="Asia/Kuala_Lumpur"))
    assert "The window closes when it opens" in response.content.decode()
    window.refresh_from_db()
    assert window.close_weekday == 4


def test_an_unknown_zone_is_refused_by_the_window_form(as_manager):
    window = ServiceWindow.objects.get()
    response = as_manager.post(f"/console/settings/windows/{window.pk}/", window_form(open_tz="Mars/Olympus"))
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    window.refresh_from_db()
    assert window.open_tz == "Asia/Kuala_Lumpur"


# --- holidays and dates ---


@time_machine.travel("2026-12-01 10:00 +00:00", tick=False)
def test_the_dates_page_names_the_coming_holidays_in_the_viewers_language(as_manager):
    swedish = as_manager.get("/console/settings/dates/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "2026-12-25</time> Juldagen" in swedish
    english = as_manager.get("/console/settings/dates/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2026-12-25</time> Christmas Day" in english
    assert "2027-11-25</time> Thanksgiving" in english      # the US, within the coming year
    assert "2026-11-26</time>" not in english               # last Thanksgiving is past
    japanese = as_manager.get("/console/settings/dates/", HTTP_ACCEPT_LANGUAGE="ja").content.decode()
    assert "2027-01-01</time> 元日" in japanese


def date_form(**changes) -> dict:
    return {"region": "europe", "day": "2026-12-30", "kind": "closed", "start": "", "end": "", "note": "",
            **changes}


@time_machine.travel("2026-12-01 10:00 +00:00", tick=False)
def test_a_closed_day_is_added_edited_and_removed(as_manager, regions):
    response = as_manager.post("/console/settings/dates/", date_form(note="Inventory"))
    assert response.status_code == 302
    override = DateOverride.objects.get()
    assert (override.region, override.date, override.kind, override.note) == (
        regions["europe"], date(2026, 12, 30), "closed", "Inventory")
    assert "Inventory" in as_manager.get("/console/settings/dates/").content.decode()

    response = as_manager.post(f"/console/settings/dates/{override.pk}/",
                               date_form(kind="special", start="10:00", end="14:00"))
    assert response.status_code == 302
    override.refresh_from_db()
    assert (override.kind, override.start, override.end) == ("special", time(10), time(14))

    assert as_manager.post(f"/console/settings/dates/{override.pk}/delete/").status_code == 302
    assert not DateOverride.objects.exists()


def test_special_hours_without_times_are_refused(as_manager):
    response = as_manager.post("/console/settings/dates/", date_form(kind="special"),
                               HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 200
    assert "Sonderöffnungszeiten benötigen eine Öffnungs- und eine Schließzeit." in response.content.decode()
    assert not DateOverride.objects.exists()


def test_a_second_entry_for_the_same_day_is_refused(as_manager, regions):
    as_manager.post("/console/settings/dates/", date_form())
    response = as_manager.post("/console/settings/dates/", date_form(kind="reopen"))
    assert "2026-12-30 already has an entry" in response.content.decode()
    assert DateOverride.objects.count() == 1


def test_deleting_a_date_takes_a_post(as_manager, regions):
    as_manager.post("/console/settings/dates/", date_form())
    override = DateOverride.objects.get()
    assert as_manager.get(f"/console/settings/dates/{override.pk}/delete/").status_code == 405
    assert DateOverride.objects.exists()


# --- canned responses ---


def canned_form(**texts) -> dict:
    data = {f"{field}_{code}": "" for code in ("en", "sv", "es", "de", "zh_hans", "ja") for field in ("title", "body")}
    data.update(texts)
    return data


def test_a_canned_response_is_added_in_two_languages_and_agents_see_it_in_theirs(as_manager):
    response = as_manager.post("/console/settings/canned/new/", canned_form(
        title_en="Thanks", body_en="Thank you, {name}.", title_sv="Tack", body_sv="Tack, {name}."))
    assert response.status_code == 302 and response["Location"] == "/console/settings/canned/"
    canned = CannedResponse.objects.get()
    assert (canned.title_en, canned.body_sv, canned.title_de) == ("Thanks", "Tack, {name}.", None)
    assert "Tack" in as_manager.get("/console/settings/canned/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert "Thanks" in as_manager.get("/console/settings/canned/", HTTP_ACCEPT_LANGUAGE="de").content.decode()


def test_a_canned_response_is_edited_and_removed(as_manager):
    as_manager.post("/console/settings/canned/new/", canned_form(title_en="Thanks", body_en="Thank you."))
    canned = CannedResponse.objects.get()
    page = as_manager.get(f"/console/settings/canned/{canned.pk}/").content.decode()
    assert 'value="Thanks"' in page
    as_manager.post(f"/console/settings/canned/{canned.pk}/", canned_form(title_en="Thanks!", body_en="Thanks."))
    canned.refresh_from_db()
    assert (canned.title_en, canned.body_en) == ("Thanks!", "Thanks.")
    assert as_manager.post(f"/console/settings/canned/{canned.pk}/delete/").status_code == 302
    assert not CannedResponse.objects.exists()


def test_a_canned_response_without_english_is_refused(as_manager):
    response = as_manager.post("/console/settings/canned/new/", canned_form(title_sv="Tack", body_sv="Tack."))
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert not CannedResponse.objects.exists()


def test_a_title_without_its_text_is_refused(as_manager):
    response = as_manager.post("/console/settings/canned/new/", canned_form(
        title_en="Thanks", body_en="Thank you.", title_es="Gracias"), HTTP_ACCEPT_LANGUAGE="en")
    assert "Spanish: write both a title and a text, or neither." in response.content.decode()
    assert not CannedResponse.objects.exists()


# --- feedback API keys ---


def test_a_new_key_is_shown_once_and_then_only_by_its_prefix(as_manager):
    response = as_manager.post("/console/settings/keys/", {"name": "Planner 5.1", "region": "japan"})
    html = response.content.decode()
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    raw = html.split('<code id="new-key">', 1)[1].split("</code>", 1)[0]
    key = ApiKey.objects.get()
    assert key.key_hash == hash_key(raw) and raw.startswith(key.prefix) and key.region.slug == "japan"
    listing = as_manager.get("/console/settings/keys/").content.decode()
    assert f"{key.prefix}…" in listing and raw not in listing


def test_a_key_works_until_it_is_revoked(as_manager, client, regions, queues):
    response = as_manager.post("/console/settings/keys/", {"name": "Planner", "region": ""})
    raw = response.content.decode().split('<code id="new-key">', 1)[1].split("</code>", 1)[0]
    report = {"user_email": "ada@example.com", "language": "en", "product": "core", "app_version": "5.1",
              "message": "It crashes."}
    assert as_manager.post("/api/feedback", report, content_type="application/json",
                           HTTP_X_API_KEY=raw).status_code in (200, 201)
    key = ApiKey.objects.get()
    assert as_manager.post(f"/console/settings/keys/{key.pk}/revoke/").status_code == 302
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert as_manager.post("/api/feedback", {**report, "message": "Again."}, content_type="application/json",
                           HTTP_X_API_KEY=raw).status_code == 401


def test_a_key_needs_a_name(as_manager):
    response = as_manager.post("/console/settings/keys/", {"name": "", "region": ""})
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert not ApiKey.objects.exists()


# --- agents' skills ---


@pytest.fixture
def specialist_extension(db):
    owner = ExtensionOwner.objects.create(slug="acme", name="Acme")
    return Extension.objects.create(slug="acme-lighting", name="Acme Lighting", owner=owner, trained_specialist=True)


def skills_form(**changes) -> dict:
    return {"languages": ["sv", "de"], "channels": ["email", "chat"], "phone_number": "", "max_chats": "4",
            "max_calls": "1", **changes}


def test_the_agents_page_lists_skills_queues_and_phone(as_manager, agent):
    html = as_manager.get("/console/settings/agents/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    row = html.split(f'id="agent-{agent.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "Swedish" in row and "Chat, Phone, Email" in row and "Yes" in row and "sv live" in row


def test_an_agents_skills_are_changed(as_manager, agent, specialist_extension):
    response = as_manager.post(f"/console/settings/agents/{agent.pk}/", skills_form(
        trained_extensions=[str(specialist_extension.pk)], phone_number="+46855500002"))
    assert response.status_code == 302
    profile = AgentProfile.objects.get(user=agent)
    assert (profile.languages, profile.channels, profile.phone_number) == (
        ["de", "sv"], ["chat", "email"], "+46855500002")
    state = AgentState.objects.get(user=agent)
    assert state.max_chats == 4 and list(state.trained_extensions.all()) == [specialist_extension]
    # The agent's own console follows at once: a German email queue is theirs now.
    assert "de async" in as_manager.get("/console/settings/agents/").content.decode()


def test_the_phone_without_english_or_swedish_is_refused(as_manager, agent):
    response = as_manager.post(f"/console/settings/agents/{agent.pk}/", skills_form(
        languages=["de"], channels=["voice"]), HTTP_ACCEPT_LANGUAGE="en")
    assert "The phone is served in English and Swedish only" in response.content.decode()
    assert AgentProfile.objects.get(user=agent).languages == ["sv"]


def test_a_capacity_out_of_range_is_refused(as_manager, agent):
    response = as_manager.post(f"/console/settings/agents/{agent.pk}/", skills_form(max_chats="0"))
    assert response.status_code == 200 and 'role="alert"' in response.content.decode()
    assert AgentProfile.objects.get(user=agent).languages == ["sv"]


def test_a_user_without_a_profile_has_no_skills_page(as_manager):
    stranger = get_user_model().objects.create_user("stranger")
    assert as_manager.get(f"/console/settings/agents/{stranger.pk}/").status_code == 404
