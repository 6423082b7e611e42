"""The ticket page's one composer: where the text goes (live, email, note, note shared with the owner),
the channel's rules enforced by the server too; the SLA box's data; triage and transfer with labels and
no guessed triage."""

import json
import re
from html import unescape

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile

from apps.chat import services as chat
from apps.chat.models import Conversation, Entry
from apps.desk import actions
from apps.mail.models import OutboundEmail
from apps.owners.models import Extension, ExtensionOwner
from apps.tickets.models import Contact, Message, Ticket

pytestmark = pytest.mark.django_db

NOON = "2026-12-02 11:00 +00:00"     # a Wednesday: chat and email are open


@pytest.fixture
def signed_in(client, agent):
    client.force_login(agent)
    return client


@pytest.fixture
def email_ticket(contact):
    return actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="hej",
                               external_ref="<c-1@example.com>")


@pytest.fixture
def chat_ticket(regions, queues):
    with time_machine.travel(NOON, tick=False):
        conversation = chat.start_conversation(language="sv", name="Ada Lind", email="ada@example.com",
                                               check_availability=False)
    return conversation.ticket


def page(client, ticket) -> str:
    return client.get(f"/console/tickets/{ticket.reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()


def offered(html: str) -> list[str]:
    """The composer's destinations, in order, and which is checked (``*``)."""
    return [value + ("*" if checked else "") for value, checked in
            re.findall(r'<input type="radio" name="destination" value="(\w+)" [^>]*?( checked)?>', html)]


def post(client, ticket, **data):
    return client.post(f"/console/tickets/{ticket.reference}/reply/", data, HTTP_ACCEPT_LANGUAGE="en", follow=True)


def test_an_email_ticket_offers_a_reply_by_email_first_then_a_note(signed_in, email_ticket):
    html = page(signed_in, email_ticket)
    assert offered(html) == ["email*", "note"]
    assert "<legend>Where the text goes</legend>" in html
    assert '<button id="send-reply">Send email</button>' in html
    assert 'id="chat-body"' not in html and html.count("<textarea") == 1       # one composer


def test_a_reply_by_email_is_mailed_to_the_contact(signed_in, email_ticket, agent):
    post(signed_in, email_ticket, destination="email", body="Vi fixar det",
         files=SimpleUploadedFile("logg.txt", b"rad 1", content_type="text/plain"))
    reply = Message.objects.get(ticket=email_ticket, direction="outbound")
    assert reply.author_user == agent and [a.filename for a in reply.attachments.all()] == ["logg.txt"]
    mail = OutboundEmail.objects.get(ticket_message=reply)
    assert mail.to_address == "ada@example.com"
    assert email_ticket.sla_targets.get(kind="first_response").met_at == reply.created_at


def test_no_email_goes_to_a_contact_without_an_address(signed_in, regions, queues):
    caller = Contact.objects.create(name="", email="", phone="+46700000001", language="sv", region=regions["europe"])
    ticket = actions.open_ticket(channel="voice", contact=caller, subject="", body="", external_ref="CA-1")
    html = page(signed_in, ticket)
    assert offered(html) == ["note*"], html
    answer = post(signed_in, ticket, destination="email", body="Hej")
    assert "This contact has no email address: a reply by email cannot reach them." in answer.content.decode()
    assert not Message.objects.filter(ticket=ticket, direction="outbound").exists()
    assert ticket.sla_targets.get(kind="first_response").met_at is None


def test_a_live_chat_offers_the_visitor_live_first_then_email_and_a_note(signed_in, chat_ticket):
    html = page(signed_in, chat_ticket)
    assert offered(html) == ["live*", "email", "note"]
    assert '<button id="send-reply">Send to the visitor</button>' in html
    assert 'id="chat-form"' not in html and html.count("<textarea") == 1       # the chat's composer is this one


def test_a_live_line_posted_without_the_socket_joins_the_chat_and_mails_nothing(signed_in, chat_ticket):
    post(signed_in, chat_ticket, destination="live", body="Hej Ada!")
    reply = Message.objects.get(ticket=chat_ticket, direction="outbound")
    assert Entry.objects.filter(message=reply, conversation__ticket=chat_ticket).exists()
    assert not OutboundEmail.objects.filter(ticket_message=reply).exists()


def test_a_reply_by_email_on_a_live_chat_is_mailed_not_chatted(signed_in, chat_ticket):
    post(signed_in, chat_ticket, destination="email", body="Sammanfattning")
    reply = Message.objects.get(ticket=chat_ticket, direction="outbound")
    assert OutboundEmail.objects.get(ticket_message=reply).to_address == "ada@example.com"
    assert not Entry.objects.filter(message=reply).exists()


def test_an_ended_chat_is_no_longer_offered_live_and_a_live_line_is_refused(signed_in, chat_ticket):
    conversation = Conversation.objects.get(ticket=chat_ticket)
    chat.end_conversation(conversation_id=conversation.pk, by="visitor")
    assert offered(page(signed_in, chat_ticket)) == ["email*", "note"]
    answer = post(signed_in, chat_ticket, destination="live", body="Hallå?")
    assert "The visitor is no longer in the chat: reply by email or write a note." in answer.content.decode()
    assert not Message.objects.filter(ticket=chat_ticket, direction="outbound").exists()


def test_an_internal_note_keeps_its_files_and_meets_no_clock(signed_in, email_ticket):
    post(signed_in, email_ticket, destination="note", body="Se loggen",
         files=SimpleUploadedFile("logg.txt", b"rad 1", content_type="text/plain"))
    note = Message.objects.get(ticket=email_ticket, direction="note")
    assert not note.shared_with_owner and [a.filename for a in note.attachments.all()] == ["logg.txt"]
    assert not OutboundEmail.objects.exists()
    assert email_ticket.sla_targets.get(kind="first_response").met_at is None


def test_an_extension_ticket_offers_a_note_shared_with_its_owner(signed_in, email_ticket, agent):
    owner = ExtensionOwner.objects.create(name="Acme", slug="acme")
    stairs = Extension.objects.create(name="Stairs", slug="acme-stairs", owner=owner)
    Ticket.objects.filter(pk=email_ticket.pk).update(scope="extension", extension=stairs, category="bug")
    html = page(signed_in, email_ticket)
    assert offered(html) == ["email*", "note", "shared_note"]
    assert "Note shared with Acme" in html
    post(signed_in, email_ticket, destination="shared_note", body="Reproducerat i 12.3")
    assert Message.objects.get(ticket=email_ticket, direction="note").shared_with_owner


def test_a_note_on_a_core_ticket_cannot_be_shared(signed_in, email_ticket):
    assert "shared_note" not in offered(page(signed_in, email_ticket))
    answer = post(signed_in, email_ticket, destination="shared_note", body="Hemligt")
    assert "Only a note on an extension ticket can be shared" in answer.content.decode()
    assert not Message.objects.filter(ticket=email_ticket).exclude(direction="inbound").exists()


def test_an_unknown_destination_is_refused(signed_in, email_ticket):
    answer = post(signed_in, email_ticket, destination="fax", body="Hej")
    assert "Choose where the text goes." in answer.content.decode()
    assert not Message.objects.filter(ticket=email_ticket).exclude(direction="inbound").exists()


def test_the_composer_refuses_a_stranger_to_the_ticket(client, email_ticket):
    from django.contrib.auth import get_user_model

    from apps.accounts.services import make_agent

    german = get_user_model().objects.create_user("de_agent")
    make_agent(user=german, languages=["de"], channels=["email"])
    client.force_login(german)
    assert client.post(f"/console/tickets/{email_ticket.reference}/reply/",
                       {"destination": "note", "body": "x"}).status_code == 404
    assert client.post(f"/console/tickets/{email_ticket.reference}/triage/", {"scope": ""}).status_code == 404
    assert not Message.objects.filter(ticket=email_ticket, direction="note").exists()


@time_machine.travel(NOON, tick=False)
def test_the_sla_box_gives_due_times_for_open_targets_and_words_for_met_ones(signed_in, contact):
    ticket = actions.open_ticket(channel="email", contact=contact, subject="Krasch", body="hej",
                                 external_ref="<c-2@example.com>")
    html = page(signed_in, ticket)
    box = html.split('<ul id="sla"', 1)[1].split("</ul>", 1)[0]
    assert box.count('<li class="sla"') == 2 and box.count("<time datetime=") == 2
    clocks = {clock["kind"]: clock for [clock] in
              (json.loads(unescape(value)) for value in re.findall(r'data-sla="([^"]*)"', box))}
    assert clocks["first_response"]["due_at"] == "2026-12-02T19:00:00+00:00"     # 8 h in the 24x5 window
    assert not clocks["first_response"]["not_applicable"] and not clocks["acknowledge"]["not_applicable"]
    assert '<p id="sla-announce" class="visually-hidden" aria-live="polite"></p>' in html
    post(signed_in, ticket, destination="email", body="Hej")
    box = page(signed_in, ticket).split('<ul id="sla"', 1)[1].split("</ul>", 1)[0]
    assert box.count('<span class="sla-state">Met</span>') == 2 and "<time" not in box


def test_an_untriaged_ticket_preselects_no_triage_and_every_field_is_labelled(signed_in, email_ticket):
    html = page(signed_in, email_ticket)
    form = html.split('id="triage-form"', 1)[1].split("</form>", 1)[0]
    for name in ("scope", "extension", "category", "language"):
        assert f'<label for="triage-{name}">' in form and f'id="triage-{name}"' in form
    for name in ("scope", "extension", "category"):
        select = form.split(f'name="{name}"', 1)[1].split("</select>", 1)[0]
        assert '<option value="" selected>Choose…</option>' in select
        assert select.count("selected") == 1
    language = form.split('name="language"', 1)[1].split("</select>", 1)[0]
    assert '<option value="sv" selected>' in language          # the ticket's language is known, not guessed
    assert '<label for="transfer-agent">To agent</label>' in html
    assert '<label for="transfer-queue">To queue</label>' in html


def test_a_triaged_ticket_shows_its_triage(signed_in, email_ticket):
    Ticket.objects.filter(pk=email_ticket.pk).update(scope="core", category="usage_question")
    form = page(signed_in, email_ticket).split('id="triage-form"', 1)[1].split("</form>", 1)[0]
    assert '<option value="core" selected>' in form and '<option value="usage_question" selected>' in form


@pytest.mark.parametrize("data, error", [
    ({"scope": "", "category": "bug", "language": "sv"}, "Choose the scope: core product or an extension."),
    ({"scope": "core", "category": "", "language": "sv"}, "Choose the category."),
    ({"scope": "extension", "category": "bug", "extension": "", "language": "sv"},
     "An extension ticket needs its extension: choose it."),
    ({"scope": "untriaged", "category": "bug", "language": "sv"}, "Choose the scope: core product or an extension."),
])
def test_an_incomplete_triage_is_refused_with_a_clear_error(signed_in, email_ticket, data, error):
    answer = signed_in.post(f"/console/tickets/{email_ticket.reference}/triage/", data,
                            HTTP_ACCEPT_LANGUAGE="en", follow=True)
    assert error in answer.content.decode()
    email_ticket.refresh_from_db()
    assert email_ticket.scope == "untriaged" and email_ticket.acknowledged_at is None


def test_a_complete_core_triage_is_saved(signed_in, email_ticket):
    signed_in.post(f"/console/tickets/{email_ticket.reference}/triage/",
                   {"scope": "core", "category": "usage_question", "language": "sv"})
    email_ticket.refresh_from_db()
    assert (email_ticket.scope, email_ticket.category, email_ticket.extension) == ("core", "usage_question", None)
