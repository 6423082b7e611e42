"""The owner portal shows stored times in the viewer's own zone and language.

An owner's admin has no agent profile, so the desk knows no zone of theirs: the page carries
UTC and the browser rewrites it (``portal/local-times.js``). Tokyo is UTC+9 all year.
"""

from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from apps.portal.tests.test_portal import owners as owners  # a fixture
from apps.portal.tests.test_portal import seat
from apps.portal.tests.test_portal import tickets as tickets  # a fixture


def test_an_owners_admin_in_tokyo_reads_the_portals_times_in_tokyo_time(desk_server, browser, owners, tickets,
                                                                          artifacts):
    seat(owners["acme"], "acme_admin")
    ticket = tickets["charts"]
    tokyo = ticket.received_at.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y/%m/%d %H:%M")
    utc = ticket.received_at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M UTC")

    page = browser.new_context(timezone_id="Asia/Tokyo", locale="ja-JP").new_page()
    page.goto(f"{desk_server}/accounts/login/")
    page.fill("#id_username", "acme_admin")
    page.fill("#id_password", "pw")
    page.click("form button[type=submit]")
    page.wait_for_url("**/owners/")
    assert page.get_attribute("html", "lang") == "ja"
    row = page.locator("#owner-tickets tr", has_text=ticket.reference)
    expect(row.locator("time")).to_have_text(f"{tokyo} JST")  # waits for the deferred script
    assert row.locator("time").get_attribute("title") == utc

    page.click(f"a[href='/owners/tickets/{ticket.reference}/']")
    page.wait_for_selector("#thread time")
    # The page is parsed before its deferred script rewrites the times: wait for the rewrite.
    expect(page.locator("time", has_text="UTC")).to_have_count(0)
    times = page.locator("time").all_text_contents()
    assert f"{tokyo} JST" in times
    page.screenshot(path=str(artifacts / "portal-ticket-tokyo.png"), full_page=True)
