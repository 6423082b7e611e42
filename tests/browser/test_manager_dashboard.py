"""The demo's User Support Manager opens the dashboard in Chromium: a chart, the tables, one CSV downloaded.

The desk's clock starts on Wednesday 15 July 2026, 10:00 UTC (12:00 in Stockholm, the
manager's zone), whatever day the suite runs, so "this week" is always the same week.
"""

import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.desk import actions
from apps.desk.demo import DEMO_PASSWORD, seed_demo
from apps.outbox import services as outbox
from apps.tickets.models import Contact
from tests.browser.test_accessibility import audit

pytestmark = pytest.mark.django_db(transaction=True)

WEDNESDAY = "2026-07-15T10:00:00+00:00"


@pytest.fixture
def demo_week(transactional_db, settings, monkeypatch):
    """The demo data, and this week's chats: one answered in time, one late, one never; then the SLA sweep.

    Written before daphne and Playwright start, on the test database they share.
    """
    from tests.browser.conftest import desk_env, serve

    monkeypatch.setattr(outbox, "enqueue_on_commit", lambda *args: None)     # no mail leaves the test
    seed_demo()
    agent = get_user_model().objects.get(username="agent_sv")
    contact = Contact.objects.filter(language="sv").first() or Contact.objects.create(
        name="Ada Lind", email="ada@example.com", language="sv")
    answered = {}
    for ref, at, after in (("in-time", datetime(2026, 7, 13, 8, tzinfo=UTC), timedelta(seconds=20)),
                           ("late", datetime(2026, 7, 14, 9, tzinfo=UTC), timedelta(minutes=4)),
                           ("never", datetime(2026, 7, 14, 12, tzinfo=UTC), None)):
        with time_machine.travel(at, tick=False):
            ticket = actions.open_ticket(channel="chat", contact=contact, subject="", body="Hej", external_ref=ref)
        if after:
            with time_machine.travel(at + after, tick=False):
                actions.assign_ticket(ticket=ticket, assignee=agent)
                actions.add_message(ticket=ticket, direction="outbound", body="Hej!", author_user=agent)
        answered[ref] = ticket
    actions.sweep_sla(now=datetime.fromisoformat(WEDNESDAY))
    yield from ((answered, url) for url in serve(["tests.browser.frozen_clock", WEDNESDAY],
                                                 desk_env(settings.REDIS_URL)))


def as_manager(context, base, path: str, landed: str):
    """A page of ``context`` signed in as the demo's manager, on ``path`` (``landed``: its URL pattern)."""
    page = context.new_page()
    page.goto(f"{base}/accounts/login/?next={path}")
    page.fill("#id_username", "manager")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(landed)
    return page


def this_week_as_manager(context, base):
    """This week's dashboard, as the demo's manager."""
    return as_manager(context, base, "/reports/sla/%3Fperiod%3Dweek", "**/reports/sla/?period=week")


def test_the_manager_sees_a_chart_and_the_tables_and_downloads_a_csv(demo_week, browser, artifacts):
    tickets, base = demo_week
    context = browser.new_context(locale="sv-SE", accept_downloads=True, viewport={"width": 1280, "height": 900})
    page = this_week_as_manager(context, base)
    assert page.inner_text("#period-shown") == "2026-07-13 – 2026-07-19 (Europe/Stockholm)"
    # A laptop's 1280 px holds the manager's header (brand, five links, search, language, name) in one row.
    assert page.eval_on_selector(".site-header-inner", "header => header.getBoundingClientRect().height") < 60
    chart = page.wait_for_selector("#table-trend figure svg[role=img]")
    assert chart.is_visible() and chart.get_attribute("aria-label")
    assert "Chatt" in page.inner_text("#table-trend table")                 # the channel as a word, in Swedish
    # Monday: both targets of the chat answered in 20 s met; Tuesday: the late chat's acknowledgement met, both
    # first responses missed, the unanswered chat's acknowledgement still running.
    days = [row.split("\t") for row in page.locator("#table-trend table tbody tr").all_inner_texts()]
    assert days[:2] == [["2026-07-13", "2/2 (100 %)"], ["2026-07-14", "1/3 (33 %)"]]
    for name in ("compliance_channel", "compliance_language", "compliance_region", "queues", "agents", "breaches",
                 "misassignments", "outbox", "ratings", "policies"):
        assert page.is_visible(f"#table-{name} table"), name
    breach = page.inner_text("#table-breaches tbody tr")
    assert tickets["late"].reference in breach and "Första svar" in breach
    page.screenshot(path=str(artifacts / "manager-dashboard.png"), full_page=True)
    audit(page, "the manager's dashboard")

    with page.expect_download() as download:
        page.click("#table-breaches a.csv")
    assert download.value.suggested_filename == "breaches-20260713-20260719.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8"))))
    assert {(row["reference"], row["channel"], row["channel_label"], row["target"]) for row in rows} == {
        (tickets["late"].reference, "chat", "Chatt", "first_response"),
        (tickets["never"].reference, "chat", "Chatt", "first_response")}
    context.close()


def test_the_consoles_header_is_one_row_at_1280_px_in_every_language(demo_week, browser):
    """Brand, five links, search, the live dot, language, name and sign-out: German and Spanish wrapped before."""
    _tickets, base = demo_week
    for locale, language in (("en-US", "en"), ("sv-SE", "sv"), ("es-ES", "es"), ("de-DE", "de"),
                             ("zh-CN", "zh-hans"), ("ja-JP", "ja")):
        context = browser.new_context(locale=locale, viewport={"width": 1280, "height": 900})
        page = as_manager(context, base, "/console/", "**/console/")
        page.wait_for_selector("#live-status.on")
        assert page.get_attribute("html", "lang") == language
        height = page.eval_on_selector(".site-header-inner", "header => header.getBoundingClientRect().height")
        assert height < 60, (language, height)
        live = page.locator("#live-status")     # the dot alone on a laptop; its word stays for screen readers
        assert live.text_content() and live.get_attribute("title") == live.text_content()
        assert page.get_attribute("#console-search", "aria-label") != page.get_attribute("#console-search",
                                                                                          "placeholder")
        context.close()


def test_on_a_phone_every_report_table_reads_row_by_row_without_scrolling_sideways(demo_week, browser, artifacts):
    tickets, base = demo_week
    page = this_week_as_manager(browser.new_context(locale="en-US", viewport={"width": 390, "height": 844}), base)
    overflowing = page.evaluate("""() => [...document.querySelectorAll('.table-scroll')]
        .filter(box => box.scrollWidth > box.clientWidth + 1).map(box => box.closest('section').id)""")
    assert overflowing == []
    # The late chat's breach: each value under its column's title, the reference still a link.
    row = page.locator("#table-breaches tbody tr", has_text=tickets["late"].reference)
    labels = row.locator("td").evaluate_all("cells => cells.map(c => getComputedStyle(c, '::before').content)")
    assert '"Ticket"' in labels and all(label not in ("none", '""') for label in labels)
    assert row.locator("a").first.get_attribute("href").endswith(f"{tickets['late'].reference}/")
    page.screenshot(path=str(artifacts / "manager-dashboard-phone.png"), full_page=True)
    page.context.close()
