"""The console's ticket database: search page, saved searches, CSV export, similar resolved tickets."""

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.console.models import SavedSearch
from apps.desk import actions
from apps.owners.models import Extension, ExtensionOwner
from apps.sla.models import SlaTarget
from apps.tickets.models import Contact, Ticket

T0 = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)   # a Tuesday, 10:00 in Stockholm
User = get_user_model()


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(T0 + timedelta(days=2), tick=False):
        yield


def _open(*, language, subject, body, ref, hours, region=None, status=None, **changes):
    contact = Contact.objects.create(name="N", email=f"{ref.strip('<>')}@example.com", language=language,
                                     region=region)
    ticket = actions.open_ticket(channel="email", contact=contact, subject=subject, body=body, external_ref=ref,
                                 received_at=T0 + timedelta(hours=hours))
    if status or changes:
        Ticket.objects.filter(pk=ticket.pk).update(status=status or ticket.status, **changes)
    return Ticket.objects.get(pk=ticket.pk)


@pytest.fixture
def desk(regions, queues):
    stairs = Extension.objects.create(name="Stairs", slug="acme-stairs",
                                      owner=ExtensionOwner.objects.create(name="Acme", slug="acme-extensions"))
    return {
        "sv_old": _open(language="sv", subject="Fakturan saknas", body="Jag har inte fått fakturan för mars.",
                        ref="<sv-1>", hours=0, status="resolved", scope="extension", extension=stairs,
                        category="bug"),
        "sv_new": _open(language="sv", subject="Fråga om fakturan", body="Var hittar jag fakturan online?",
                        ref="<sv-2>", hours=1),
        "sv_other": _open(language="sv", subject="Trappan", body="Trappan ritas fel.", ref="<sv-3>", hours=2),
        "de": _open(language="de", subject="Fakturan", body="Die fakturan fehlt.", ref="<de-1>", hours=3),
    }


@pytest.fixture
def signed_in(client, agent):
    """agent_sv: Swedish on chat, voice and email."""
    client.force_login(agent)
    return client


def refs(response) -> list[str]:
    assert response.status_code == 200
    html = response.content.decode()
    table = html.split('<table id="results">', 1)[1].split("</table>", 1)[0] if 'id="results"' in html else ""
    return [part.split('"', 1)[0] for part in table.split('<tr data-ref="')[1:]]


def test_every_console_page_has_the_search_box(signed_in, desk):
    for url in ("/console/", f"/console/tickets/{desk['sv_new'].reference}/", "/console/search/"):
        html = signed_in.get(url).content.decode()
        assert 'id="console-search"' in html and 'action="/console/search/"' in html, url


def test_results_are_ranked_with_words_and_a_snippet(signed_in, desk):
    response = signed_in.get("/console/search/", {"q": "fakturan"}, HTTP_ACCEPT_LANGUAGE="en")
    # Ranked, then newest: the German ticket saying "fakturan" is outside agent_sv's access.
    assert sorted(refs(response)) == sorted([desk["sv_old"].reference, desk["sv_new"].reference])
    html = response.content.decode()
    assert f'href="/console/tickets/{desk["sv_new"].reference}/"' in html
    assert '<td class="status">Resolved</td>' in html and '<td class="status">New</td>' in html
    assert '<td class="language">Swedish</td>' in html and '<td class="channel">Email</td>' in html  # words
    assert "<mark>fakturan</mark>" in html
    assert "Tickets found: 2" in html


def test_each_result_has_the_lists_status_dot_beside_its_word(signed_in, desk):
    """The dot is the ticket lists' (``tr[data-status] td.status::before``); the word stays the accessible text."""
    html = signed_in.get("/console/search/", {"q": "fakturan"}, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    for key, word in (("sv_old", "Löst"), ("sv_new", "Nytt")):
        row = html.split(f'<tr data-ref="{desk[key].reference}"', 1)[1].split("</tr>", 1)[0]
        assert row.startswith(f' data-status="{desk[key].status}">')
        assert f'<td class="status">{word}</td>' in row


def test_labels_and_times_follow_the_viewer(signed_in, desk, agent):
    agent.agent_profile.time_zone = "Asia/Tokyo"
    agent.agent_profile.save()
    html = signed_in.get("/console/search/", {"q": "Trappan"}, HTTP_ACCEPT_LANGUAGE="sv").content.decode()
    assert '<td class="language">Svenska</td>' in html and '<td class="channel">E-post</td>' in html
    assert ">2026-03-03 20:00</time>" in html       # received 11:00 UTC; the console's one date format


@pytest.mark.parametrize("params,expected", [
    ({"status": "resolved"}, ["sv_old"]),
    ({"status": "new"}, ["sv_new"]),
    ({"language": "de"}, []),
    ({"channel": "chat"}, []),
    ({"region": "europe"}, ["sv_new", "sv_old"]),
    ({"region": "japan"}, []),
    ({"extension": "acme-stairs"}, ["sv_old"]),
    ({"owner": "acme-extensions"}, ["sv_old"]),
    ({"since": "2026-03-03"}, ["sv_new", "sv_old"]),
    ({"until": "2026-03-02"}, []),
    ({"breached": "true"}, ["sv_new"]),
    ({"breached": "false"}, ["sv_old"]),
])
def test_each_filter_narrows_the_results(signed_in, desk, params, expected):
    SlaTarget.objects.filter(ticket=desk["sv_new"]).update(breached_at=T0 + timedelta(days=1))
    assert sorted(refs(signed_in.get("/console/search/", {"q": "fakturan", **params}))) == sorted(
        desk[key].reference for key in expected)


def test_dates_are_days_in_the_viewers_zone_both_included(signed_in, desk, agent):
    agent.agent_profile.time_zone = "Asia/Tokyo"      # sv_other: 11:00 UTC, 20:00 in Tokyo on the 3rd
    agent.agent_profile.save()
    assert refs(signed_in.get("/console/search/", {"since": "2026-03-03", "until": "2026-03-03"})) == [
        desk["sv_other"].reference, desk["sv_new"].reference, desk["sv_old"].reference]
    assert refs(signed_in.get("/console/search/", {"since": "2026-03-04"})) == []


def test_an_agent_sees_no_ticket_outside_their_access(client, desk):
    german = User.objects.create_user("de_agent")
    make_agent(user=german, languages=["de"], channels=["email"])
    client.force_login(german)
    assert refs(client.get("/console/search/", {"q": "fakturan"})) == [desk["de"].reference]
    response = client.get("/console/search/", {"q": "Trappan"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refs(response) == []
    assert "No ticket you may open matches “Trappan”." in response.content.decode()


def test_the_search_needs_an_agent(client, desk):
    assert client.get("/console/search/", {"q": "x"}).status_code == 302
    client.force_login(User.objects.create_user("plain", is_staff=True))
    assert client.get("/console/search/", {"q": "x"}).status_code == 403
    assert client.get("/console/search/tickets.csv").status_code == 403


def test_results_come_25_a_page(signed_in, regions, queues):
    made = [_open(language="sv", subject=f"Utskrift {n}", body="Skrivaren skriver inte ut.", ref=f"<p-{n}>",
                  hours=n) for n in range(27)]
    newest_first = [ticket.reference for ticket in reversed(made)]
    first = signed_in.get("/console/search/", {"q": "skrivaren"}, HTTP_ACCEPT_LANGUAGE="en")
    assert refs(first) == newest_first[:25]
    assert "Page 1 of 2" in first.content.decode() and "q=skrivaren&amp;page=2" in first.content.decode()
    assert refs(signed_in.get("/console/search/", {"q": "skrivaren", "page": 2})) == newest_first[25:]


def test_a_bad_filter_is_shown_not_searched(signed_in, desk):
    response = signed_in.get("/console/search/", {"status": "nonsense", "since": "yesterday"})
    assert response.status_code == 200 and refs(response) == []
    assert 'class="error"' in response.content.decode()


def test_an_agent_saves_runs_and_deletes_a_search(signed_in, desk, agent):
    response = signed_in.post("/console/search/saved/", {"name": "Fakturor", "params": "q=fakturan&status=new&page=3"})
    saved = SavedSearch.objects.get(user=agent)
    assert (saved.name, saved.params) == ("Fakturor", "q=fakturan&status=new")     # no page number kept
    assert response.status_code == 302 and response["Location"] == "/console/search/?q=fakturan&status=new"
    # Listed on the search page and in every console page's navigation.
    assert "/console/search/?q=fakturan&amp;status=new" in signed_in.get("/console/search/").content.decode()
    assert ">Fakturor</a>" in signed_in.get("/console/").content.decode()
    assert refs(signed_in.get(response["Location"])) == [desk["sv_new"].reference]
    # The same name again replaces it.
    signed_in.post("/console/search/saved/", {"name": "Fakturor", "params": "q=fakturan"})
    assert list(SavedSearch.objects.filter(user=agent).values_list("params", flat=True)) == ["q=fakturan"]
    assert signed_in.post(f"/console/search/saved/{saved.pk}/delete/").status_code == 302
    assert not SavedSearch.objects.exists()


def test_a_search_needs_a_name(signed_in, desk, agent):
    response = signed_in.post("/console/search/saved/", {"name": "  ", "params": "q=fakturan"}, follow=True)
    assert not SavedSearch.objects.exists() and 'class="error"' in response.content.decode()
    refused = signed_in.post("/console/search/saved/", {"name": "", "params": "q=a\r\nSet-Cookie: x=1"})
    assert refused.status_code == 302 and refused["Location"] == "/console/search/?q=a%0D%0ASet-Cookie%3A+x%3D1"


def test_saved_searches_are_the_owners_alone(signed_in, desk, agent):
    from django.test import Client

    signed_in.post("/console/search/saved/", {"name": "Fakturasök", "params": "q=fakturan"})
    mine = SavedSearch.objects.get()
    other = User.objects.create_user("other_sv")
    make_agent(user=other, languages=["sv"], channels=["email"])
    client = Client()
    client.force_login(other)
    assert "Fakturasök" not in client.get("/console/search/").content.decode()
    assert "Fakturasök" not in client.get("/console/").content.decode()
    assert client.post(f"/console/search/saved/{mine.pk}/delete/").status_code == 404
    assert SavedSearch.objects.filter(pk=mine.pk).exists()


def _csv(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"] == "text/csv; charset=utf-8"
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_the_csv_has_every_match_with_codes_and_labels(signed_in, desk, regions, queues, agent):
    agent.agent_profile.time_zone = "Europe/Stockholm"
    agent.agent_profile.save()
    SlaTarget.objects.filter(ticket=desk["sv_new"]).update(breached_at=T0 + timedelta(days=1))
    for n in range(30):      # more than a page: the export is not the page
        _open(language="sv", subject=f"Fakturan {n}", body="fakturan", ref=f"<f-{n}>", hours=10 + n)
    rows = _csv(signed_in.get("/console/search/tickets.csv", {"q": "fakturan"}, HTTP_ACCEPT_LANGUAGE="sv"))
    assert len(rows) == 32
    old = next(row for row in rows if row["reference"] == desk["sv_old"].reference)
    assert old == {
        "reference": desk["sv_old"].reference, "received_at": "2026-03-03T10:00:00+01:00",
        "subject": "Fakturan saknas", "status": "resolved", "status_label": "Löst", "channel": "email",
        "channel_label": "E-post", "language": "sv", "language_label": "Svenska", "region": "europe",
        "region_name": "Europe", "scope": "extension", "scope_label": "Tillägg", "category": "bug",
        "category_label": "Bugg", "extension": "acme-stairs", "extension_name": "Stairs",
        "owner": "acme-extensions", "owner_name": "Acme", "sla_breached": "no"}
    assert next(row for row in rows if row["reference"] == desk["sv_new"].reference)["sla_breached"] == "yes"


def test_the_csv_holds_only_tickets_the_user_may_open(client, desk):
    german = User.objects.create_user("de_agent")
    make_agent(user=german, languages=["de"], channels=["email"])
    client.force_login(german)
    assert [row["reference"] for row in _csv(client.get("/console/search/tickets.csv"))] == [desk["de"].reference]


def test_a_formula_in_a_subject_stays_text_in_the_csv(signed_in, regions, queues):
    _open(language="sv", subject='=HYPERLINK("http://evil")', body="x", ref="<evil>", hours=0)
    assert _csv(signed_in.get("/console/search/tickets.csv"))[0]["subject"] == '\'=HYPERLINK("http://evil")'


def test_the_ticket_page_shows_similar_resolved_tickets_while_triaging(signed_in, desk):
    html = signed_in.get(f"/console/tickets/{desk['sv_new'].reference}/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    box = html.split('id="similar-tickets"', 1)[1].split("</section>", 1)[0]
    assert f'href="/console/tickets/{desk["sv_old"].reference}/"' in box
    assert "Stairs" in box and "Bug" in box and 'data-extension="acme-stairs"' in box
    assert desk["sv_other"].reference not in box and desk["de"].reference not in box
    resolved = signed_in.get(f"/console/tickets/{desk['sv_old'].reference}/").content.decode()
    assert 'id="similar-tickets"' not in resolved      # a resolved ticket is past triage
