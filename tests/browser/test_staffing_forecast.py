"""The demo manager opens the staffing forecast in Chromium and reads the week grids.

The desk's clock starts on Wednesday 15 April 2026, 10:30 UTC (12:30 in Stockholm), whatever
day the suite runs; the demo data plus eight weeks of Monday-morning Swedish chats are in the
database, so the Swedish chat grid has a busy Monday 09:00 beyond its one agent.
"""

from datetime import timedelta

import pytest

from apps.desk.demo import DEMO_PASSWORD, seed_demo
from apps.reports.tests.test_staffing_forecast import FIRST_MONDAY, History, local, naive_needed
from apps.tickets.models import Contact
from tests.browser.conftest import in_another_thread
from tests.browser.test_accessibility import audit

pytestmark = pytest.mark.django_db(transaction=True)

WEDNESDAY_NOON = "2026-04-15T10:30:00+00:00"


@pytest.fixture
def forecast_desk(transactional_db, settings):
    from tests.browser.conftest import desk_env, serve

    def demo_with_history():
        seed_demo()
        history = History(Contact.objects.create(name="Ada", email="ada@example.com", language="sv"))
        for week in range(8):
            for n in range(12):
                history.ticket(at=local(FIRST_MONDAY + timedelta(weeks=week), 9, 4 * n + 1), handled=400)
    in_another_thread(demo_with_history)
    yield from serve(["tests.browser.frozen_clock", WEDNESDAY_NOON], desk_env(settings.REDIS_URL))


def test_the_demo_manager_reads_the_staffing_grid(forecast_desk, browser):
    page = browser.new_context(locale="en-GB").new_page()
    page.goto(f"{forecast_desk}/accounts/login/?next=/console/manager/")
    page.fill("#id_username", "manager")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console/manager/")
    page.click("#staffing-link")
    page.wait_for_url("**/reports/staffing/")

    grid = page.locator("#queue-chat-sv")
    assert grid.locator("h2").text_content() == "Swedish · Chat"
    monday = grid.locator("tbody tr").first
    assert monday.locator("th").text_content() == "Monday"
    nine = monday.locator("td").nth(9)
    needed = naive_needed(per_hour=12, handle=400, answer=60)
    assert nine.get_attribute("data-needed") == str(needed)
    assert "understaffed" in nine.text_content()            # said in words, not by colour alone
    assert nine.evaluate("cell => getComputedStyle(cell).backgroundColor") != "rgba(0, 0, 0, 0)"
    assert grid.locator("td.now").count() == 1
    assert page.locator("table.staffing-grid").count() == 6
    audit(page, "the staffing forecast")
