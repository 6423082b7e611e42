"""Owners' quarterly reports: a generated quarter, its numbers checked by independent queries."""

import csv
import io
import random
import shutil
import subprocess
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command

from apps.desk import actions
from apps.jira_sync.models import JiraLink
from apps.outbox import services as outbox
from apps.owners.models import Extension, ExtensionOwner, OwnerAdmin, QuarterlyReport
from apps.reports import owner_report, publishing, rendering
from apps.reports.quarters import Quarter
from apps.tickets import services as tickets
from apps.tickets.models import Ticket

pytestmark = pytest.mark.django_db
Q3 = Quarter(2026, 3)
CATEGORIES = ["bug", "usage_question", "functionality_question", "feature_request"]


@pytest.fixture(autouse=True)
def quiet_outbox(monkeypatch, settings, tmp_path):
    monkeypatch.setattr(outbox, "enqueue_on_commit", lambda *args: None)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def owners(db):
    acme = ExtensionOwner.objects.create(name="Acme Plugins", slug="acme", language="sv")
    other = ExtensionOwner.objects.create(name="Other Works", slug="other")
    return {
        "acme": acme, "other": other,
        "charts": Extension.objects.create(name="Acme Charts", slug="acme-charts", owner=acme),
        "stairs": Extension.objects.create(name="Acme Stairs", slug="acme-stairs", owner=acme),
        "widgets": Extension.objects.create(name="Other Widgets", slug="other-widgets", owner=other),
    }


def ticket_at(contact, agent, at, extension, category, *, channel="email", n=0):
    with time_machine.travel(at, tick=False):
        ticket = actions.open_ticket(channel=channel, contact=contact, subject=f"t{n}", body="x",
                                     external_ref=f"<{n}@{extension.slug}>")
    with time_machine.travel(at + timedelta(hours=1), tick=False):
        actions.triage_ticket(ticket=ticket, scope="extension", category=category, extension=extension,
                              actor=tickets.Actor(user=agent))
    return ticket


@pytest.fixture
def quarter(contact, agent, owners):
    """Forty tickets for Acme in Q3 (some resolved, some acted on in Jira), ten in Q2, five for the other owner."""
    rng = random.Random(7)
    made = []
    for n in range(40):
        at = datetime(2026, 7, 1, 6, tzinfo=UTC) + timedelta(hours=rng.randrange(0, 24 * 90))
        extension = owners["charts"] if n % 3 else owners["stairs"]
        ticket = ticket_at(contact, agent, at, extension, CATEGORIES[n % 4], n=n)
        link, _created = JiraLink.objects.get_or_create(ticket=ticket, defaults={"owner": owners["acme"]})
        link.issue_key = f"SUP-{n}"
        if n % 4 == 0:        # the owner finished it
            with time_machine.travel(at + timedelta(hours=30 + n), tick=False):
                actions.follow_owner(ticket=ticket, to=Ticket.Status.RESOLVED, actor=tickets.Actor(label="jira"))
        elif n % 4 == 1:      # the owner started work
            link.owner_acted_at = at + timedelta(hours=5)
        link.save()
        made.append(ticket)
    for n in range(40, 50):
        ticket_at(contact, agent, datetime(2026, 5, 10, 9, tzinfo=UTC) + timedelta(days=n - 40),
                  owners["charts"], "bug", n=n)
    for n in range(50, 55):
        ticket_at(contact, agent, datetime(2026, 8, 10, 9, tzinfo=UTC), owners["widgets"], "bug", n=n)
    returned = made[5]
    with time_machine.travel(datetime(2026, 9, 29, 9, tzinfo=UTC), tick=False):
        actions.return_to_triage(ticket=returned, actor=tickets.Actor(label="acme"), reason="not ours")
    return made


def test_the_numbers_agree_with_independent_queries(quarter, owners):
    report = owner_report.build(owners["acme"], Q3)
    ours = Ticket.objects.filter(extension__owner=owners["acme"], received_at__gte=datetime(2026, 7, 1, tzinfo=UTC),
                                 received_at__lt=datetime(2026, 10, 1, tzinfo=UTC))
    assert report.total == ours.count() == 39                      # one of the 40 was returned as not theirs
    assert report.buckets[owner_report.RESOLVED] == ours.filter(status__in=["resolved", "closed"]).count() == 10
    forwarded = ours.filter(status="forwarded")
    assert report.buckets[owner_report.PENDING] == forwarded.filter(jira_link__owner_acted_at__isnull=False).count()
    assert report.buckets[owner_report.UNANSWERED] == forwarded.filter(jira_link__owner_acted_at__isnull=True).count()
    assert sum(report.buckets.values()) == 39
    assert report.by["extension"] == {"acme-charts": ours.filter(extension__slug="acme-charts").count(),
                                      "acme-stairs": ours.filter(extension__slug="acme-stairs").count()}
    assert report.by["category"]["bug"] == ours.filter(category="bug").count()
    assert report.previous_total == 10 and report.change == 29
    assert [(ref, slug) for ref, slug, _at in report.misassigned] == [(quarter[5].reference, "acme-charts")]
    # Triage an hour after arrival: every acknowledgement took one hour and met the 12-hour target.
    assert report.acknowledge.count == 39 and report.acknowledge.median_seconds == 3600
    assert report.acknowledge.met_share == 1.0
    resolved = sorted((t.resolved_at - t.events.get(kind="status", data__to="forwarded").created_at).total_seconds()
                      for t in ours.filter(status="resolved"))
    assert report.resolution.count == 10 and report.resolution.median_seconds == (resolved[4] + resolved[5]) / 2
    assert report.resolution.p90_seconds == resolved[8]


def test_owner_a_never_sees_owner_b_tickets(quarter, owners):
    theirs = set(Ticket.objects.filter(extension__owner=owners["other"]).values_list("reference", flat=True))
    rendered = rendering.render(owner_report.build(owners["acme"], Q3), pdf=False)
    assert theirs and not any(reference in rendered.html or reference in rendered.csv for reference in theirs)
    other = owner_report.build(owners["other"], Q3)
    assert {line.reference for line in other.lines} == theirs


def test_csv_has_codes_and_words_one_row_per_ticket(quarter, owners):
    rendered = rendering.render(owner_report.build(owners["acme"], Q3), pdf=False)
    rows = list(csv.DictReader(io.StringIO(rendered.csv)))
    assert len(rows) == 39 and len({row["reference"] for row in rows}) == 39
    bug = next(row for row in rows if row["category"] == "bug")
    assert bug["category_label"] == "Bugg" and bug["channel_label"] == "E-post"     # the owner's language: Swedish
    assert bug["extension_name"].startswith("Acme ") and bug["jira_key"].startswith("SUP-")


@pytest.mark.parametrize("language", ["en", "sv", "es", "de", "zh-hans", "ja"])
def test_the_report_renders_in_every_language_as_html_pdf_and_pages(quarter, owners, language, tmp_path):
    owner = owners["acme"]
    owner.language = language
    owner.save()
    rendered = rendering.render(owner_report.build(owner, Q3))
    assert f'<html lang="{language}">' in rendered.html and "<svg" in rendered.html
    assert 'href="http' not in rendered.html and 'src="http' not in rendered.html   # nothing loaded from elsewhere
    assert rendered.pdf.startswith(b"%PDF") and rendered.warning == ""
    if shutil.which("pdftoppm"):
        (tmp_path / "r.pdf").write_bytes(rendered.pdf)
        subprocess.run(["pdftoppm", "-r", "40", "-png", str(tmp_path / "r.pdf"), str(tmp_path / "page")], check=True,
                       timeout=120)
        assert sorted(tmp_path.glob("page*.png"))         # every page turned into a picture


def test_command_writes_files_publishes_and_mails_the_admins_once(quarter, owners, tmp_path, django_user_model):
    admin = django_user_model.objects.create_user("acme_admin", email="admin@acme.example")
    OwnerAdmin.objects.create(owner=owners["acme"], user=admin, seat=1)
    call_command("quarterly_reports", "--quarter", "2026Q3", "--out", str(tmp_path / "out"))
    names = sorted(path.name for path in (tmp_path / "out").iterdir())
    assert names == ["acme-2026Q3.csv", "acme-2026Q3.html", "acme-2026Q3.pdf",
                     "other-2026Q3.csv", "other-2026Q3.html", "other-2026Q3.pdf"]
    stored = QuarterlyReport.objects.get(owner=owners["acme"], quarter="2026Q3")
    assert stored.tickets == 39 and stored.pdf.read().startswith(b"%PDF")
    outbox.deliver_due()
    reports = [message for message in mail.outbox if "2026Q3" in message.subject]
    assert [message.to for message in reports] == [["admin@acme.example"]]        # other's owner has no admin
    assert "/owners/reports/" in reports[0].body and reports[0].subject == "Din kvartalsrapport 2026Q3 är klar"
    call_command("quarterly_reports", "--quarter", "2026Q3", "--owner", "acme")       # again: files replaced
    outbox.deliver_due()
    assert len([message for message in mail.outbox if "2026Q3" in message.subject]) == 1


def test_the_portal_shows_only_the_owners_own_reports(quarter, owners, client, django_user_model):
    publishing.publish(Q3, owners=[owners["acme"], owners["other"]], mail=False, pdf=False)
    admin = django_user_model.objects.create_user("acme_admin", password="pw")
    OwnerAdmin.objects.create(owner=owners["acme"], user=admin, seat=1)
    client.force_login(admin)
    page = client.get("/owners/reports/")
    assert page.status_code == 200 and b"2026Q3" in page.content
    html = client.get("/owners/reports/2026Q3.html")
    assert html.status_code == 200 and b"Acme Plugins" in b"".join(html.streaming_content)
    assert client.get("/owners/reports/2026Q3.pdf").status_code == 404          # published without a PDF
    other = get_user_model().objects.create_user("other_admin", password="pw")
    OwnerAdmin.objects.create(owner=owners["other"], user=other, seat=1)
    client.force_login(other)
    body = b"".join(client.get("/owners/reports/2026Q3.csv").streaming_content)
    assert b"SD-" in body or body.count(b"\n") == 6
    assert all(reference.encode() not in body for reference in [t.reference for t in quarter])


def test_the_schedule_publishes_on_the_first_working_day_after_the_quarter(quarter, owners, regions):
    # 2026-10-01 is a Thursday: a working day in Sweden, from 08:00 Stockholm (06:00 UTC).
    assert publishing.publish_due(datetime(2026, 10, 1, 5, 59, tzinfo=UTC)) == []
    published = publishing.publish_due(datetime(2026, 10, 1, 6, 0, tzinfo=UTC))
    assert sorted(p.owner for p in published) == ["acme", "other"]
    assert publishing.publish_due(datetime(2026, 10, 1, 9, 0, tzinfo=UTC)) == []        # once
    # 2026Q4 ends on a Thursday; 1 January is a holiday, then a weekend: Monday 4 January, 08:00 CET.
    first = publishing.first_working_moment_after(Quarter(2026, 4))
    assert first == datetime(2027, 1, 4, 7, 0, tzinfo=UTC)


def test_quarter_names():
    assert Quarter.parse("2026q3") == Q3 and str(Q3.previous) == "2026Q2" and str(Quarter(2026, 4).next) == "2027Q1"
    assert Q3.start == datetime(2026, 7, 1, tzinfo=UTC) and Q3.end == datetime(2026, 10, 1, tzinfo=UTC)
    with pytest.raises(ValueError):
        Quarter.parse("2026Q5")
    assert owner_report.percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9) == 9
