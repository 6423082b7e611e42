from datetime import UTC, datetime

import pytest

from apps.desk import actions
from apps.tickets import services
from apps.tickets.models import Contact, Message, Ticket, TicketEvent


def open_email(contact, ref="<m-1@example.com>", **kwargs):
    defaults = dict(channel="email", contact=contact, subject="Krasch", body="Hej, appen kraschar",
                    external_ref=ref, external_id=ref)
    return actions.open_ticket(**{**defaults, **kwargs})


def test_opening_gives_a_human_reference_and_logs_the_opening(contact, queues):
    ticket = open_email(contact)

    ticket.refresh_from_db()
    assert ticket.reference == f"SD-{ticket.pk:06d}"
    assert ticket.status == Ticket.Status.NEW
    assert ticket.language == "sv"
    assert ticket.region.slug == "europe"
    assert ticket.queue == queues[("sv", "async")]
    kinds = list(ticket.events.values_list("kind", flat=True))
    assert kinds == [TicketEvent.Kind.OPENED, TicketEvent.Kind.MESSAGE]
    message = ticket.messages.get()
    assert message.direction == Message.Direction.INBOUND
    assert message.external_id == "<m-1@example.com>"
    assert message.author_contact == contact


def test_repeated_external_ref_returns_the_first_ticket(contact):
    first = open_email(contact)
    again = open_email(contact, subject="another subject")

    assert again.pk == first.pk
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1
    assert TicketEvent.objects.filter(kind=TicketEvent.Kind.OPENED).count() == 1


def test_same_external_ref_on_another_channel_is_another_ticket(contact):
    first = open_email(contact, ref="X1", external_id="")
    other = actions.open_ticket(channel="voice", contact=contact, subject="", body="",
                                 external_ref="X1", language="sv")
    assert other.pk != first.pk


def test_live_channels_enter_the_live_queue(contact, queues):
    ticket = actions.open_ticket(channel="chat", contact=contact, subject="", body="hej",
                                  external_ref="conv-1")
    assert ticket.queue == queues[("sv", "live")]


def test_explicit_region_from_entry_point_wins_over_the_contact(contact, regions):
    ticket = open_email(contact, region=regions["japan"])
    assert ticket.region.slug == "japan"


def test_received_at_is_kept_as_given(contact):
    received = datetime(2025, 12, 23, 14, 0, tzinfo=UTC)
    ticket = open_email(contact, received_at=received)
    ticket.refresh_from_db()
    assert ticket.received_at == received
    assert ticket.events.get(kind="opened").created_at == received


def test_unknown_language_is_refused_and_nothing_is_written(contact):
    with pytest.raises(services.TicketError, match="Unsupported language"):
        open_email(contact, language="fi")
    assert Ticket.objects.count() == 0
    assert TicketEvent.objects.count() == 0


def test_unknown_channel_is_refused(contact):
    with pytest.raises(services.TicketError, match="Unknown channel"):
        open_email(contact, channel="fax")
    assert Ticket.objects.count() == 0


def test_browser_language_tags_are_normalised(contact):
    ticket = open_email(contact, language="zh-CN")
    assert ticket.language == "zh-hans"


def test_failure_after_insert_rolls_back_the_whole_ticket(contact, monkeypatch):
    def broken_log(events):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "log_events", broken_log)
    with pytest.raises(RuntimeError):
        open_email(contact)
    assert Ticket.objects.count() == 0
    assert Message.objects.count() == 0


def test_find_or_create_contact_matches_email_case_insensitively(db):
    first = services.find_or_create_contact(email="Ada@Example.com", name="Ada", language="sv")
    again = services.find_or_create_contact(email="ada@example.com")
    assert again.pk == first.pk
    assert Contact.objects.count() == 1


def test_a_contact_writing_from_a_non_ascii_address_is_found_again_in_any_case(regions):
    first = services.find_or_create_contact(email="jörg@exempel.de", name="Jörg", language="de")
    assert services.find_or_create_contact(email="jörg@exempel.de", name="Jörg", language="de") == first
    assert services.find_or_create_contact(email="JÖRG@exempel.de", name="Jörg", language="de") == first
    assert services.contacts_by_email({"Jörg@Exempel.de"}) == {"JÖRG@EXEMPEL.DE": first}
    assert Contact.objects.count() == 1
