"""GET /api/tickets?q=: full text over subjects and messages, in six languages, on both databases."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apps.accounts.services import create_api_token, make_agent
from apps.desk import actions
from apps.owners.models import Extension, ExtensionOwner
from apps.sla.models import SlaTarget
from apps.tickets import services
from apps.tickets.models import Contact, Message, SearchDocument, Ticket
from apps.tickets.search import Query, tokens_of

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POSTGRESQL = pytest.mark.postgresql(reason="PostgreSQL's snowball stemming; SQLite's FTS5 matches words as written")


def _open(*, language, subject, body, hours, channel="email", region=None, ref=None):
    contact = Contact.objects.create(name="N", email=f"{ref or subject}@example.com", language=language, region=region)
    return actions.open_ticket(channel=channel, contact=contact, subject=subject, body=body,
                               external_ref=ref or f"<{language}-{hours}@example.com>",
                               received_at=T0 + timedelta(hours=hours))


@pytest.fixture
def desk(regions, queues):
    """Tickets in the six languages, each an hour newer than the one before."""
    return {
        "sv_old": _open(language="sv", subject="Fakturor saknas", body="Jag har inte fått några fakturor.", hours=0),
        "sv_new": _open(language="sv", subject="Fråga", body="Var hittar jag min faktura?", hours=1),
        "en": _open(language="en", subject="Invoices missing", body="I never received the invoices.", hours=2),
        "de": _open(language="de", subject="Rechnungen", body="Die Rechnungen sind nicht angekommen.", hours=3,
                    region=regions["europe"]),
        "es": _open(language="es", subject="Facturas", body="No he recibido las facturas.", hours=4),
        "zh": _open(language="zh-hans", subject="发票问题", body="请问我的发票在哪里？", hours=5,
                    region=regions["malaysia"]),
        "ja": _open(language="ja", subject="請求書", body="請求書が届きません。東京都から連絡しました。", hours=6,
                    region=regions["japan"]),
    }


@pytest.fixture
def manager_client(client, db):
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("manager", password="pw")
    make_agent(user=user, languages=["en"], channels=["email"], manager=True)
    client.defaults["HTTP_AUTHORIZATION"] = f"Bearer {create_api_token(user=user)}"
    return client


def refs(response):
    assert response.status_code == 200, response.content
    return [ticket["reference"] for ticket in response.json()["items"]]


def test_cjk_runs_are_indexed_as_bigrams():
    assert tokens_of("请问发票") == " 请问 问发 发票 "
    assert tokens_of("Windows 11で請求書") == "Windows 11 で請 請求 求書 "
    assert Query.parse("发票").grams == ["发票"] and Query.parse("東京都").grams == ["東京", "京都"]


def test_every_message_and_subject_gets_one_document(desk):
    ticket = desk["en"]
    services.add_messages([services.NewMessage(ticket=ticket, direction=Message.Direction.OUTBOUND, body=f"Reply {n}")
                           for n in range(3)])
    assert SearchDocument.objects.filter(ticket=ticket).count() == 5   # subject, first message, three replies
    assert SearchDocument.objects.filter(ticket=ticket, message__isnull=True).get().tokens == "Invoices missing"


def test_a_word_finds_the_tickets_that_have_it(manager_client, desk):
    assert refs(manager_client.get("/api/tickets", {"q": "Rechnungen"})) == [desk["de"].reference]
    assert refs(manager_client.get("/api/tickets", {"q": "received invoices"})) == [desk["en"].reference]


@POSTGRESQL
def test_swedish_stemming_is_postgresqls(manager_client, desk):
    # The swedish snowball stemmer makes "fakturor" and "fakturorna" 'faktur', "faktura" 'faktur',
    # but leaves "fakturan" as it is: the definite singular finds only itself.
    assert set(refs(manager_client.get("/api/tickets", {"q": "fakturorna", "language": "sv"}))) == {
        desk["sv_old"].reference, desk["sv_new"].reference}
    assert refs(manager_client.get("/api/tickets", {"q": "fakturan", "language": "sv"})) == []


@POSTGRESQL
def test_english_german_and_spanish_words_find_their_other_forms(manager_client, desk):
    assert refs(manager_client.get("/api/tickets", {"q": "invoice"})) == [desk["en"].reference]
    assert refs(manager_client.get("/api/tickets", {"q": "Rechnung"})) == [desk["de"].reference]
    assert refs(manager_client.get("/api/tickets", {"q": "factura", "language": "es"})) == [desk["es"].reference]


def test_without_stemming_sqlite_matches_the_word_as_written(manager_client, desk):
    if connection.vendor == "postgresql":
        pytest.skip("SQLite only: PostgreSQL stems")
    assert refs(manager_client.get("/api/tickets", {"q": "fakturor"})) == [desk["sv_old"].reference]
    assert refs(manager_client.get("/api/tickets", {"q": "invoice"})) == []


def test_two_character_cjk_words_match(manager_client, desk):
    assert refs(manager_client.get("/api/tickets", {"q": "发票"})) == [desk["zh"].reference]
    assert refs(manager_client.get("/api/tickets", {"q": "請求書"})) == [desk["ja"].reference]
    assert refs(manager_client.get("/api/tickets", {"q": "東京都"})) == [desk["ja"].reference]
    assert refs(manager_client.get("/api/tickets", {"q": "大阪"})) == []


def test_results_are_ranked_then_newest_first(manager_client, desk):
    # Two English tickets saying "printer" once, and a newer one saying it in its subject and body:
    # the rank puts the many mentions first, then the two alike come newest first.
    a = _open(language="en", subject="Help", body="My printer jams.", hours=10)
    b = _open(language="en", subject="Hello", body="My printer halts.", hours=11)
    best = _open(language="en", subject="Printer printer", body="printer printer printer broken", hours=9)
    assert refs(manager_client.get("/api/tickets", {"q": "printer"})) == [best.reference, b.reference, a.reference]


@pytest.mark.parametrize("name,value,expected", [
    ("language", "de", ["de"]),
    ("channel", "chat", []),
    ("status", "new", ["es", "de"]),
    ("region", "europe", ["de", "es"]),  # Spanish defaults to Europe
    ("region", "japan", []),
    ("since", "2026-03-02T12:30:00Z", ["es"]),
    ("until", "2026-03-02T12:30:00Z", ["de"]),
])
def test_each_filter_narrows_the_search(manager_client, desk, name, value, expected):
    # "facturas" (es) and "Rechnungen" (de): one word each; q ORs nothing, so ask for both separately.
    found = (refs(manager_client.get("/api/tickets", {"q": "facturas", name: value}))
             + refs(manager_client.get("/api/tickets", {"q": "Rechnungen", name: value})))
    assert sorted(found) == sorted(desk[key].reference for key in expected)


def test_the_extension_owner_and_breached_filters(manager_client, desk):
    owner = ExtensionOwner.objects.create(name="Acme", slug="acme-extensions")
    stairs = Extension.objects.create(name="Stairs", slug="acme-stairs", owner=owner)
    Ticket.objects.filter(pk=desk["es"].pk).update(extension=stairs, scope=Ticket.Scope.EXTENSION)
    SlaTarget.objects.filter(ticket=desk["de"]).update(breached_at=T0 + timedelta(days=3))
    for params, expected in [({"extension": "acme-stairs"}, ["es"]), ({"owner": "acme-extensions"}, ["es"]),
                             ({"owner": "nordic-kitchens"}, []), ({"breached": "true"}, ["de"]),
                             ({"breached": "false"}, ["es"])]:
        found = (refs(manager_client.get("/api/tickets", {"q": "facturas", **params}))
                 + refs(manager_client.get("/api/tickets", {"q": "Rechnungen", **params})))
        assert sorted(found) == sorted(desk[key].reference for key in expected), params


def test_filters_without_q_keep_the_newest_first_list(manager_client, desk):
    assert refs(manager_client.get("/api/tickets", {"region": "japan"})) == [desk["ja"].reference]
    assert refs(manager_client.get("/api/tickets", {"language": "sv"})) == [
        desk["sv_new"].reference, desk["sv_old"].reference]


@pytest.mark.parametrize("params", [{"breached": "maybe"}, {"region": "eu rope"}, {"until": "yesterday"},
                                    {"language": "fr"}, {"q": "x" * 201}, {"owner": "a/b"}])
def test_bad_values_are_422(manager_client, db, params):
    assert manager_client.get("/api/tickets", params).status_code == 422


def test_an_agent_finds_only_tickets_in_their_scope(api_client, desk):
    # agent_sv works Swedish email: the German, Spanish and Chinese tickets do not exist for them.
    assert refs(api_client.get("/api/tickets", {"q": "Rechnungen"})) == []
    assert refs(api_client.get("/api/tickets", {"q": "发票"})) == []
    assert set(refs(api_client.get("/api/tickets", {"q": "fakturor"}))) >= {desk["sv_old"].reference}


def test_nonsense_finds_nothing(manager_client, desk):
    for q in ["qwxzzy", "!!!", "-", '"', "发"]:
        assert refs(manager_client.get("/api/tickets", {"q": q})) == [], q


def test_a_message_added_later_and_a_new_language_are_found(manager_client, desk):
    actions.add_message(ticket=desk["en"], direction=Message.Direction.INBOUND, body="Also the zeppelin crashed",
                        author_contact=desk["en"].contact)
    assert refs(manager_client.get("/api/tickets", {"q": "zeppelin"})) == [desk["en"].reference]
    services.triage_ticket(ticket=desk["en"], scope="core", language="de", actor=services.Actor.system())
    assert refs(manager_client.get("/api/tickets", {"q": "zeppelin", "language": "de"})) == [desk["en"].reference]
