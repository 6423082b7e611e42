"""Console pages: the agent's actions through HTTP, each ending in one service call."""

import json
import re
from html import unescape

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.console import worklists
from apps.console.selectors import sla_payload
from apps.desk import actions
from apps.tickets import services as tickets
from apps.tickets.models import Message, Ticket


@pytest.fixture
def ticket(contact):
    return actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="hej",
                               external_ref="<m-1@example.com>")


@pytest.fixture
def signed_in(client, agent):
    client.force_login(agent)
    return client


def test_the_console_lists_waiting_work_with_counts(signed_in, ticket):
    page = signed_in.get("/console/")
    html = page.content.decode()
    assert page.status_code == 200
    assert ticket.reference in html and 'id="count-email" data-channels="email feedback">1<' in html


def test_the_console_needs_an_agent(client, db):
    assert client.get("/console/").status_code == 302       # to the login page
    plain = get_user_model().objects.create_user("plain", is_staff=True)
    client.force_login(plain)
    assert client.get("/console/").status_code == 403


def test_a_reply_is_stored_meets_the_clock_and_shows_in_the_thread(signed_in, ticket, agent):
    response = signed_in.post(f"/console/tickets/{ticket.reference}/reply/", {"body": "Vi fixar det", "kind": "reply"})
    assert response.status_code == 302
    reply = Message.objects.get(ticket=ticket, direction="outbound")
    assert reply.author_user == agent and reply.body_text == "Vi fixar det"
    assert ticket.sla_targets.get(kind="first_response").met_at == reply.created_at
    assert "Vi fixar det" in signed_in.get(f"/console/tickets/{ticket.reference}/").content.decode()


def test_an_internal_note_does_not_meet_the_clock(signed_in, ticket):
    signed_in.post(f"/console/tickets/{ticket.reference}/reply/", {"body": "check logs", "kind": "note"})
    assert Message.objects.get(ticket=ticket, direction="note").body_text == "check logs"
    assert ticket.sla_targets.get(kind="first_response").met_at is None


def test_status_changes_follow_the_transitions_and_show_refusals(signed_in, ticket):
    signed_in.post(f"/console/tickets/{ticket.reference}/status/", {"status": "resolved"})
    assert Ticket.objects.get(pk=ticket.pk).status == "resolved"
    page = signed_in.post(f"/console/tickets/{ticket.reference}/status/", {"status": "pending"}, follow=True)
    assert "cannot move" in page.content.decode()


def test_the_status_menu_offers_the_allowed_moves_and_preselects_none(signed_in, ticket):
    html = signed_in.get(f"/console/tickets/{ticket.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    menu = html.split('<select name="status"', 1)[1].split("</select>", 1)[0]
    assert ' required><option value="" selected disabled>Move to…</option>' in menu
    assert [part.split('"', 1)[0] for part in menu.split('<option value="')[2:]] == [
        "open", "pending", "forwarded", "resolved"]      # a new ticket's moves, in the workflow's order


def test_triage_sets_scope_category_and_extension(signed_in, ticket):
    from apps.owners.models import Extension, ExtensionOwner

    Extension.objects.create(name="Stairs", slug="acme-stairs",
                             owner=ExtensionOwner.objects.create(name="Acme", slug="acme"))
    signed_in.post(f"/console/tickets/{ticket.reference}/triage/",
                   {"scope": "extension", "category": "bug", "extension": "acme-stairs", "language": "sv"})
    ticket.refresh_from_db()
    assert (ticket.scope, ticket.category, ticket.extension.slug) == ("extension", "bug", "acme-stairs")
    assert ticket.sla_targets.get(kind="acknowledge").met_at is not None


def test_take_and_transfer(signed_in, ticket, agent):
    other = get_user_model().objects.create_user("other_sv", is_staff=True)
    make_agent(user=other, languages=["sv"], channels=["email"])
    signed_in.post(f"/console/tickets/{ticket.reference}/take/")
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent
    signed_in.post(f"/console/tickets/{ticket.reference}/transfer/", {"agent": other.pk})
    assert Ticket.objects.get(pk=ticket.pk).assignee == other


def test_tickets_outside_the_agents_queues_are_not_shown(client, ticket):
    german = get_user_model().objects.create_user("de_agent", is_staff=True)
    make_agent(user=german, languages=["de"], channels=["email"])
    client.force_login(german)
    assert client.get(f"/console/tickets/{ticket.reference}/").status_code == 404
    assert client.post(f"/console/tickets/{ticket.reference}/reply/", {"body": "x"}).status_code == 404


def test_the_manager_view_shows_agents_queues_and_breaches(client, ticket, agent):
    from datetime import UTC, datetime

    from apps.desk.actions import sweep_sla

    sweep_sla(now=datetime(2099, 1, 1, tzinfo=UTC))
    manager = get_user_model().objects.create_user("usm", is_staff=True)
    make_agent(user=manager, languages=["en"], channels=["email"], manager=True)
    client.force_login(manager)
    html = client.get("/console/manager/").content.decode()
    assert "agent_sv" in html and ticket.reference in html
    client.force_login(agent)
    assert client.get("/console/manager/").status_code == 403


def test_the_manager_view_sends_a_visitor_to_sign_in_and_refuses_who_is_no_manager(client, agent):
    response = client.get("/console/manager/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    nobody = get_user_model().objects.create_user("not_an_agent", password="pw")
    for user in (nobody, agent):
        client.force_login(user)
        response = client.get("/console/manager/")
        assert response.status_code == 403 and b"User Support Manager" in response.content


@time_machine.travel("2026-12-05 07:17 +00:00", tick=False)
def test_times_are_shown_in_the_agents_zone(signed_in, contact, agent):
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="hej",
                                 external_ref="<m-tokyo@example.com>")
    agent.agent_profile.time_zone = "Asia/Tokyo"
    agent.agent_profile.save()
    html = signed_in.get(f"/console/tickets/{ticket.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<time datetime="2026-12-05T07:17:00+00:00">12/5/26, 4:17 PM</time>' in html


def test_live_updates_name_sla_targets_and_events_in_the_agents_language(signed_in, ticket):
    html = signed_in.get(f"/console/tickets/{ticket.reference}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    strings = html.split('id="console-strings"', 1)[1].split("</script>", 1)[0]
    assert '"first_response": "F\\u00f6rsta svar"' in strings
    assert '"opened": "\\u00d6ppnat"' in strings


def test_the_queue_lists_the_nearest_deadline_first(signed_in, ticket, contact):
    chat = actions.open_ticket(channel="chat", contact=contact, subject="Chatt", body="", external_ref="c-1")
    html = signed_in.get("/console/").content.decode()
    # The chat came later but is due in a minute; the mail in hours.
    assert html.index(f'data-ref="{chat.reference}"') < html.index(f'data-ref="{ticket.reference}"')


def test_a_ticket_without_a_subject_says_so(signed_in, contact):
    untitled = actions.open_ticket(channel="chat", contact=contact, subject="", body="", external_ref="c-2")
    home = signed_in.get("/console/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert '<td class="subject">(kein Betreff)</td>' in home
    page = signed_in.get(f"/console/tickets/{untitled.reference}/", HTTP_ACCEPT_LANGUAGE="de").content.decode()
    assert f"{untitled.reference} · (kein Betreff)</h1>" in page


def test_the_history_names_the_desks_own_parts_in_the_agents_language(signed_in, contact, agent):
    from apps.desk.actions import take_ticket
    from apps.tickets.models import TicketEvent

    chat = actions.open_ticket(channel="chat", contact=contact, subject="Chatt", body="", external_ref="c-3")
    take_ticket(ticket=chat, user=agent, by_routing=True)
    TicketEvent.objects.create(ticket=chat, kind=TicketEvent.Kind.SLA, actor_label="sla", created_at=chat.received_at)
    html = signed_in.get(f"/console/tickets/{chat.reference}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    history = html.split('id="events"', 1)[1].split("</ol>", 1)[0]
    assert "· Tilldelat · automatisk fördelning</li>" in history
    assert "· SLA · SLA-klockan</li>" in history
    assert f"· Tilldelat · {agent.get_username()}" not in history


def test_the_history_says_which_sla_target_and_which_status_move(signed_in, contact, agent):
    """A chat's history read "SLA · SLA clock" twice, for two targets met by one answer."""
    from apps.tickets.models import TicketEvent

    chat = actions.open_ticket(channel="chat", contact=contact, subject="Chatt", body="", external_ref="c-4")
    actions.change_status(ticket=chat, to="open", actor=tickets.Actor(user=agent))
    actions.add_message(ticket=chat, direction="outbound", body="Hej!", author_user=agent, created_at=chat.received_at)
    TicketEvent.objects.create(ticket=chat, kind=TicketEvent.Kind.SLA, actor_label="sla", created_at=chat.received_at,
                               data={"target": "first_response", "event": "met", "late": True})
    html = signed_in.get(f"/console/tickets/{chat.reference}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    history = html.split('id="events"', 1)[1].split("</ol>", 1)[0]
    assert f"· Status ändrad: Nytt → Öppet · {agent.get_username()}</li>" in history
    assert "· SLA: Första svar: uppfyllt · SLA-klockan</li>" in history
    assert "· SLA: Bekräftelse: uppfyllt · SLA-klockan</li>" in history
    assert "· SLA: Första svar: uppfyllt för sent · SLA-klockan</li>" in history
    strings = html.split('id="console-strings"', 1)[1].split("</script>", 1)[0]
    assert '"late": "uppfyllt f\\u00f6r sent"' in strings       # for entries that arrive live


def test_an_agent_downloads_a_tickets_file_from_the_thread_and_nobody_else_does(
        client, signed_in, ticket, contact, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    file = tickets.add_attachment(message=ticket.messages.get(), filename="<b>shot</b>.html",
                                  content_type="text/html", data=b"<script>alert(1)</script>")
    url = f"/console/tickets/{ticket.reference}/attachments/{file.pk}/"
    page = signed_in.get(f"/console/tickets/{ticket.reference}/").content.decode()
    assert f'<a href="{url}">' in page and "&lt;b&gt;shot&lt;/b&gt;.html</a>" in page and "📎" not in page
    response = signed_in.get(url)
    assert response.status_code == 200 and b"".join(response.streaming_content) == b"<script>alert(1)</script>"
    # Saved by the browser, never rendered in the desk's origin.
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    other = actions.open_ticket(channel="email", contact=contact, subject="Annat", body="x", external_ref="<m-2@x>")
    assert signed_in.get(f"/console/tickets/{other.reference}/attachments/{file.pk}/").status_code == 404
    german = get_user_model().objects.create_user("de_agent", is_staff=True)
    make_agent(user=german, languages=["de"], channels=["email"])
    client.force_login(german)
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302      # to the sign-in page


@pytest.mark.parametrize(("page_url", "linked"), [("https://shop.example.com/pris?id=7", True),
                                                  ("javascript:alert(document.cookie)", False)])
def test_a_chat_says_which_page_the_visitor_chats_from_and_links_only_web_pages(signed_in, agent, page_url, linked):
    from apps.chat.services import start_conversation
    from apps.desk.actions import take_ticket

    conversation = start_conversation(language="sv", name="Ada", email="ada@example.com", page_url=page_url,
                                      entry_point="widget-europe", check_availability=False)
    take_ticket(ticket=conversation.ticket, user=agent)
    page = signed_in.get(f"/console/tickets/{conversation.ticket.reference}/").content.decode()
    line = page.split('id="chat-page">', 1)[1].split("</p>", 1)[0]
    assert page_url in line                                       # shown either way, as text
    assert ('<a href="https://shop.example.com/pris?id=7"' in line) is linked
    assert "<a" in line if linked else "<a" not in line


def test_a_message_the_desk_sent_itself_says_so_in_the_thread(signed_in, ticket):
    actions.add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, body="Vi har tagit emot ditt ärende.",
                        automatic=True)
    page = signed_in.get(f"/console/tickets/{ticket.reference}/", HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert '<div class="meta">supporten · ' in page and '<div class="meta"> · ' not in page



def test_canned_responses_come_in_the_tickets_language_with_their_placeholders_filled(signed_in, ticket, agent):
    from apps.tickets.models import CannedResponse

    agent.first_name, agent.last_name = "Sara", "Berg"
    agent.save()
    CannedResponse.objects.create(title_en="Greeting", body_en="Hi {name}, this is {agent}.",
                                  title_sv="Hälsning", body_sv="Hej {name}, det här är {agent}. Ärende {reference}.")
    CannedResponse.objects.create(title_en="Logs", body_en="Please send the logs of {reference} to {other}.")
    page = signed_in.get(f"/console/tickets/{ticket.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    canned = json.loads(page.split('<script id="canned-data" type="application/json">', 1)[1].split("</script>")[0])
    # The ticket is Swedish: the Swedish text, for this contact, agent and ticket, whatever the console's language.
    # No Swedish text: the default language's; braces that are no placeholder stay as written.
    assert sorted(canned, key=lambda response: response["title"]) == [
        {"title": "Hälsning", "body": f"Hej Ada Lind, det här är Sara Berg. Ärende {ticket.reference}."},
        {"title": "Logs", "body": f"Please send the logs of {ticket.reference} to {{other}}."}]



def test_a_rated_chat_shows_the_visitors_rating_in_its_panel(signed_in, agent):
    from apps.chat import services as chat
    from apps.desk.actions import take_ticket

    conversation = chat.start_conversation(language="sv", name="Ada", email="ada@example.com",
                                           entry_point="widget-europe", check_availability=False)
    take_ticket(ticket=conversation.ticket, user=agent)
    url = f"/console/tickets/{conversation.ticket.reference}/"
    assert 'id="chat-rating"' not in signed_in.get(url).content.decode()
    chat.end_conversation(conversation_id=conversation.pk, by="visitor")
    chat.rate_conversation(conversation_id=conversation.pk, rating="bad", comment="<b>Långsamt</b>")
    page = signed_in.get(url, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert ('<p id="chat-rating">Besökarens betyg: <span class="chip">Dålig</span> “&lt;b&gt;Långsamt&lt;/b&gt;”</p>'
            in page)


def test_the_console_list_shows_exactly_the_tickets_an_agent_may_open(client, contact, ticket):
    call = actions.open_ticket(channel="voice", contact=contact, subject="", body="", external_ref="CA1")
    chats_only = get_user_model().objects.create_user("sv_chat")
    make_agent(user=chats_only, languages=["sv"], channels=["chat"])
    client.force_login(chats_only)
    assert call.reference not in client.get("/console/").content.decode()     # the live queue, but a call
    assert client.get(f"/console/tickets/{call.reference}/").status_code == 404


def test_owner_admins_get_404_for_console_tickets(client, ticket):
    from apps.owners.models import ExtensionOwner
    from apps.owners.services import grant_owner_admin

    owner_admin = get_user_model().objects.create_user("acme_admin1", is_staff=True)
    grant_owner_admin(owner=ExtensionOwner.objects.create(name="Acme", slug="acme"), user=owner_admin)
    client.force_login(owner_admin)
    assert client.get(f"/console/tickets/{ticket.reference}/").status_code == 404
    assert client.post(f"/console/tickets/{ticket.reference}/status/", {"status": "resolved"}).status_code == 404
    assert client.get("/console/").status_code == 403
    assert Ticket.objects.get(pk=ticket.pk).status == "new"


def _sla_attributes(html: str) -> list[list[dict]]:
    return [json.loads(unescape(value)) for value in re.findall(r'data-sla="([^"]*)"', html)]


def test_pages_carry_each_clock_as_the_pushes_do_set_aside_clocks_included(signed_in, ticket):
    """A set-aside clock read "breached" on page load while pushes said "not applicable"."""
    ticket.sla_targets.filter(kind="first_response").update(not_applicable_at=ticket.received_at)
    pushed = sla_payload(ticket.sla_targets.all())
    assert {"kind": "first_response", "not_applicable": True} in [
        {"kind": t["kind"], "not_applicable": t["not_applicable"]} for t in pushed]

    worklist = _sla_attributes(signed_in.get("/console/").content.decode())
    page = _sla_attributes(signed_in.get(f"/console/tickets/{ticket.reference}/").content.decode())
    assert worklist == [pushed]
    assert page == [[target] for target in pushed]


def test_the_worklist_sorts_by_the_next_clock_still_running_not_a_set_aside_one(agent, ticket):
    first_response = ticket.sla_targets.get(kind="first_response")
    assert worklists.worklist(user=agent, view=worklists.VIEWS["queue"])[0].next_due == first_response.due_at
    ticket.sla_targets.filter(pk=first_response.pk).update(not_applicable_at=ticket.received_at)
    [row] = worklists.worklist(user=agent, view=worklists.VIEWS["queue"])
    assert row.next_due == ticket.sla_targets.get(kind="acknowledge").due_at != first_response.due_at
