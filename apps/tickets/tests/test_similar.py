"""Similar resolved tickets: a cheap "more like this" query, and the selector the ticket page asks."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.tickets import selectors
from apps.tickets.models import Contact, Ticket
from apps.tickets.search import Query, similar_to

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)   # a Tuesday


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0 + timedelta(days=1), tick=False):
        yield


def test_the_query_takes_the_longest_uncommon_words_and_any_may_match():
    query = similar_to("Hello, the installer crashes", "Please help: the installer crashes with error 0x80070005 "
                       "after the update. Thanks")
    assert query.any_term
    # The longest first (an error code is as distinctive as it gets), ties in the order written.
    assert query.words.split() == ["0x80070005", "installer", "crashes", "update", "error", "after", "help"]
    assert query.fts5() == " OR ".join(f'"{word}"' for word in query.words.split())


def test_the_query_keeps_at_most_eight_words_and_drops_numbers_and_short_words():
    query = similar_to("a bc def " + " ".join(f"word{'x' * n}" for n in range(12)) + " 123456")
    assert len(query.words.split()) == 8 and "123456" not in query.words and "def" not in query.words
    assert query.words.split()[0] == "word" + "x" * 11       # the longest first


def test_cjk_text_gives_its_first_distinct_bigrams():
    query = similar_to("发票问题", "请问我的发票在哪里？")
    assert query.runs == ("发票", "票问", "问题", "请问", "问我", "我的")
    assert query.grams == list(query.runs) and query.words == ""


def test_nothing_distinctive_gives_an_empty_query():
    assert not similar_to("Hi", "the and is ok 42")
    assert not Query(words="", runs=(), any_term=True)


def _open(contact, *, subject, body, ref, hours, status=None, language=None, **triage):
    ticket = actions.open_ticket(channel="email", contact=contact, subject=subject, body=body, external_ref=ref,
                                 language=language, received_at=T0 + timedelta(hours=hours))
    if status or triage:
        Ticket.objects.filter(pk=ticket.pk).update(status=status or ticket.status, **triage)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def tickets(contact):
    from apps.owners.models import Extension, ExtensionOwner

    stairs = Extension.objects.create(name="Stairs", slug="acme-stairs",
                                      owner=ExtensionOwner.objects.create(name="Acme", slug="acme"))
    return {
        "now": _open(contact, subject="Trappan ritas fel", body="Trappräcket försvinner i ritningen.", ref="<n>",
                     hours=5),
        "resolved": _open(contact, subject="Trappräcket syns inte", body="Räcket försvinner när jag ritar trappan.",
                          ref="<r>", hours=1, status="resolved", scope="extension", extension=stairs,
                          category="bug"),
        "closed_weak": _open(contact, subject="Fråga om ritningen", body="Hur skriver jag ut ritningen?", ref="<c>",
                             hours=2, status="closed", scope="core", category="usage_question"),
        "open_same": _open(contact, subject="Trappräcket försvinner", body="Trappräcket försvinner igen.",
                           ref="<o>", hours=3),
        "unrelated": _open(contact, subject="Faktura", body="Var är min faktura?", ref="<u>", hours=4,
                           status="resolved"),
    }


def test_finds_resolved_and_closed_tickets_with_the_same_words_best_first(tickets, agent):
    found = selectors.similar_resolved(tickets["now"], user=agent)
    refs = [ticket.reference for ticket in found]
    # Not the ticket itself, not the open one however alike, not the one sharing no word.
    assert refs == [tickets["resolved"].reference, tickets["closed_weak"].reference]
    assert found[0].extension.slug == "acme-stairs" and found[0].category == "bug"


def test_the_same_language_comes_first(tickets, agent, regions):
    english = Contact.objects.create(name="E", email="e@example.com", language="en", region=regions["europe"])
    # Shares more words with the Swedish ticket than any Swedish one does, but in another language.
    other = _open(english, subject="Trappräcket försvinner ritningen trappan", body="Trappräcket försvinner ritar",
                  ref="<en>", hours=6, status="resolved", language="en")
    manager = get_user_model().objects.create_user("usm")
    make_agent(user=manager, languages=["en"], channels=["email"], manager=True)
    refs = [ticket.reference for ticket in selectors.similar_resolved(tickets["now"], user=manager)]
    assert refs[-1] == other.reference and tickets["resolved"].reference in refs[:-1]


def test_only_tickets_the_agent_may_open(tickets, db):
    german = get_user_model().objects.create_user("de_agent")
    make_agent(user=german, languages=["de"], channels=["email"])
    assert selectors.similar_resolved(tickets["now"], user=german) == []


def test_at_most_five(contact, agent):
    now = _open(contact, subject="Exportfel", body="Exporten till PDF kraschar", ref="<x>", hours=10)
    for n in range(7):
        _open(contact, subject=f"Exportfel {n}", body="Exporten kraschar", ref=f"<x{n}>", hours=n, status="closed")
    assert len(selectors.similar_resolved(now, user=agent)) == 5
