import re
from datetime import UTC, datetime

import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.desk.actions import sweep_sla
from apps.reports.selectors import chat_ratings, sla_compliance
from apps.tickets.models import Ticket


def open_chat(contact, ref, at):
    with time_machine.travel(at, tick=False):
        return actions.open_ticket(channel="chat", contact=contact, subject="", body="x", external_ref=ref)


def seed(contact, agent):
    on_time = open_chat(contact, "a", datetime(2026, 7, 6, 9, tzinfo=UTC))
    with time_machine.travel(datetime(2026, 7, 6, 9, 0, 30, tzinfo=UTC), tick=False):
        actions.add_message(ticket=on_time, direction="outbound", body="hi", author_user=agent)
    open_chat(contact, "b", datetime(2026, 7, 6, 10, tzinfo=UTC))
    sweep_sla(now=datetime(2026, 7, 6, 10, 5, tzinfo=UTC))      # b's first response breaches
    open_chat(contact, "c", datetime(2026, 7, 6, 11, tzinfo=UTC))   # still pending


def test_compliance_counts_met_breached_and_pending(contact, agent):
    seed(contact, agent)
    rows = sla_compliance(start=datetime(2026, 7, 1, tzinfo=UTC), end=datetime(2026, 10, 1, tzinfo=UTC),
                          by="channel")
    response = next(r for r in rows if r.kind == "first_response")
    assert (response.key, response.met, response.breached, response.pending) == ("chat", 1, 1, 1)
    assert response.compliance == 0.5
    ack = next(r for r in rows if r.kind == "acknowledge")
    assert (ack.met, ack.breached, ack.pending) == (1, 0, 2)


def test_tickets_without_a_region_are_counted_last(contact, agent, regions):
    seed(contact, agent)
    Ticket.objects.filter(external_ref="c").update(region=None)
    rows = sla_compliance(start=datetime(2026, 7, 1, tzinfo=UTC), end=datetime(2026, 10, 1, tzinfo=UTC),
                          by="region")
    assert [(r.key, r.kind, r.pending) for r in rows] == [
        ("europe", "acknowledge", 1), ("europe", "first_response", 0), ("", "acknowledge", 1),
        ("", "first_response", 1)]


def test_the_dashboard_is_for_the_support_manager_only(client, contact, agent):
    seed(contact, agent)
    assert client.get("/reports/sla/").status_code == 302              # to the sign-in page
    client.force_login(agent)
    assert client.get("/reports/sla/").status_code == 403
    manager = get_user_model().objects.create_user("usm", password="pw")
    make_agent(user=manager, languages=["en"], channels=["email"], manager=True)
    client.force_login(manager)
    page = client.get("/reports/sla/?from=2026-07-01&to=2026-09-30")
    assert page.status_code == 200
    html = re.sub(r' data-label="[^"]*"', "", page.content.decode())      # the column titles a phone shows
    assert "SLA compliance" in html and "50 %" in html
    by_region = html.split('id="table-compliance_region"', 1)[1].split("</section>", 1)[0]
    assert "<td>Europe</td>" in by_region and "<td>europe</td>" not in by_region    # the word, not the code


def test_the_dashboard_shows_how_visitors_rated_their_chats(client, contact, agent, regions, queues):
    from apps.chat import services as chat

    def chat_rated(email, at, rating):
        with time_machine.travel(at, tick=False):
            conversation = chat.start_conversation(language="sv", name="Ada", email=email,
                                                   entry_point="widget-europe", check_availability=False)
            chat.end_conversation(conversation_id=conversation.pk, by="visitor")
            if rating:
                chat.rate_conversation(conversation_id=conversation.pk, rating=rating)

    for n, rating in enumerate(["good", "good", "good", "bad", ""]):
        chat_rated(f"v{n}@example.com", datetime(2026, 8, 3, 9, n, tzinfo=UTC), rating)
    chat_rated("late@example.com", datetime(2026, 10, 2, 9, tzinfo=UTC), "bad")        # another quarter
    (row,) = chat_ratings(start=datetime(2026, 7, 1, tzinfo=UTC), end=datetime(2026, 10, 1, tzinfo=UTC))
    assert (row.language, row.ended, row.rated, row.good, row.bad, row.good_share) == ("sv", 5, 4, 3, 1, 0.75)
    manager = get_user_model().objects.create_user("usm", password="pw")
    make_agent(user=manager, languages=["en"], channels=["email"], manager=True)
    client.force_login(manager)
    page = client.get("/reports/sla/?from=2026-07-01&to=2026-09-30")
    html = re.sub(r' data-label="[^"]*"', "", page.content.decode())
    ratings = html.split("Chat ratings", 1)[1]
    assert "<tr><td>Swedish</td><td>5</td><td>4</td><td>3</td><td>1</td>" in ratings and "75 %" in ratings


def test_a_call_left_for_voicemail_in_time_is_left_out_of_compliance(contact, agent):
    """The caller went to voicemail within the three minutes: their answer target no longer applies."""
    at = datetime(2026, 7, 6, 9, tzinfo=UTC)
    with time_machine.travel(at, tick=False):
        call = actions.open_ticket(channel="voice", contact=contact, subject="", body="call", external_ref="CA1",
                                   waiting_since=at)
    with time_machine.travel(datetime(2026, 7, 6, 9, 1, tzinfo=UTC), tick=False):
        actions.live_to_async(ticket=call, at=datetime(2026, 7, 6, 9, 1, tzinfo=UTC), reason="phone")
    rows = sla_compliance(start=datetime(2026, 7, 1, tzinfo=UTC), end=datetime(2026, 10, 1, tzinfo=UTC),
                          by="channel")
    assert [r.kind for r in rows] == ["acknowledge", "callback"]     # no first_response row at all
    assert next(r for r in rows if r.kind == "callback").pending == 1
