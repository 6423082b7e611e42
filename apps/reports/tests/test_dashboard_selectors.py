"""The manager's dashboard reads: a generated week of tickets, its numbers checked by counting the rows in Python."""

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.contrib.auth import get_user_model

from apps.accounts.services import make_agent
from apps.desk import actions
from apps.outbox import services as outbox
from apps.owners.models import Extension, ExtensionOwner
from apps.reports import selectors
from apps.reports.periods import period_for
from apps.routing.models import AgentState
from apps.routing.selectors import agent_occupancy
from apps.sla.models import SlaTarget
from apps.tickets import services as tickets
from apps.tickets.models import Contact

pytestmark = pytest.mark.django_db
STOCKHOLM = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 7, 15, 10, tzinfo=UTC)        # Wednesday, 12:00 in Stockholm
LANGUAGES = {"chat": ["sv", "en", "es", "de"], "email": ["sv", "en", "es", "de", "zh-hans", "ja"],
             "voice": ["sv", "en"]}


@pytest.fixture(autouse=True)
def quiet_outbox(monkeypatch):
    monkeypatch.setattr(outbox, "enqueue_on_commit", lambda *args: None)


@pytest.fixture
def contacts(regions, queues):
    home = {"sv": "europe", "en": "us", "es": "europe", "de": "europe", "zh-hans": "malaysia", "ja": "japan"}
    return {language: Contact.objects.create(name=f"User {language}", email=f"{language}@example.com",
                                             language=language, region=regions[region])
            for language, region in home.items()}


def open_at(at, **fields):
    with time_machine.travel(at, tick=False):
        return actions.open_ticket(subject="", body="x", **fields)


def reply_at(ticket, at, agent):
    with time_machine.travel(at, tick=False):
        actions.add_message(ticket=ticket, direction="outbound", body="svar", author_user=agent)


@pytest.fixture
def week(contacts, agent):
    """Sixty tickets from Monday 00:00 to Wednesday 09:00 Stockholm time: some answered in time, some late,
    some not yet; then the SLA sweep at NOW. Plus one ticket just before the week (Sunday 23:30 in Stockholm)."""
    rng = random.Random(17)
    start = datetime(2026, 7, 12, 22, tzinfo=UTC)     # Monday 00:00 in Stockholm
    made = []
    for n in range(60):
        at = start + timedelta(minutes=rng.randrange(0, 57 * 60))
        channel = rng.choice(["chat", "chat", "email", "email", "voice", "feedback"])
        language = rng.choice(LANGUAGES.get(channel, LANGUAGES["email"]))
        ticket = open_at(at, channel=channel, contact=contacts[language], external_ref=f"gen-{n}",
                         waiting_since=at if channel == "voice" else None)
        fate = rng.choice(["in_time", "late", "none"])
        if fate != "none":
            live = channel in ("chat", "voice")
            delay = (timedelta(seconds=30) if live else timedelta(hours=1)) if fate == "in_time" else (
                timedelta(minutes=10) if live else timedelta(hours=30))
            if at + delay < NOW:
                reply_at(ticket, at + delay, agent)
        made.append(ticket)
    open_at(datetime(2026, 7, 12, 21, 30, tzinfo=UTC), channel="chat", contact=contacts["sv"],
            external_ref="sunday-night")
    actions.sweep_sla(now=NOW)
    return made


def counted(period):
    """Met and breached targets per (channel, local day), counted row by row."""
    tally = Counter()
    for target in SlaTarget.objects.select_related("ticket").filter(not_applicable_at__isnull=True):
        received = target.ticket.received_at
        if not period.start <= received < period.end:
            continue
        on_time = target.met_at is not None and target.met_at <= target.due_at and target.breached_at is None
        late = target.breached_at is not None or (target.met_at is not None and target.met_at > target.due_at)
        day = received.astimezone(STOCKHOLM).date()
        tally[(target.ticket.channel, day, "met")] += on_time
        tally[(target.ticket.channel, day, "breached")] += late
    return tally


def this_week():
    return period_for({"period": "week"}, today=date(2026, 7, 15), zone=STOCKHOLM)


def test_the_trend_per_channel_and_day_agrees_with_counting_the_targets(week):
    period = this_week()
    points = selectors.compliance_trend(period=period, today=date(2026, 7, 15))
    tally = counted(period)
    assert {point.bucket for point in points} == {date(2026, 7, 13), date(2026, 7, 14), date(2026, 7, 15)}
    assert {point.channel for point in points} == {"chat", "email", "voice", "feedback"}
    for point in points:
        assert (point.met, point.breached) == (tally[(point.channel, point.bucket, "met")],
                                               tally[(point.channel, point.bucket, "breached")]), point
    assert sum(point.met for point in points) == sum(v for k, v in tally.items() if k[2] == "met") > 0
    assert sum(point.breached for point in points) == sum(v for k, v in tally.items() if k[2] == "breached") > 0


def test_the_week_starts_at_the_managers_midnight_not_at_utcs(week):
    period = this_week()
    assert period.start == datetime(2026, 7, 12, 22, tzinfo=UTC)
    chat = sum(row.met + row.breached + row.pending
               for row in selectors.sla_compliance(start=period.start, end=period.end, by="channel")
               if row.key == "chat")
    in_week = SlaTarget.objects.filter(ticket__channel="chat", ticket__received_at__gte=period.start,
                                       not_applicable_at__isnull=True).count()
    assert chat == in_week
    sunday = SlaTarget.objects.filter(ticket__external_ref="sunday-night").count()
    assert sunday and chat + sunday == SlaTarget.objects.filter(ticket__channel="chat",
                                                                not_applicable_at__isnull=True).count()


def test_a_quarter_is_charted_per_week_from_monday(week):
    period = period_for({"period": "quarter"}, today=date(2026, 7, 15), zone=STOCKHOLM)
    points = selectors.compliance_trend(period=period, today=date(2026, 7, 15))
    buckets = sorted({point.bucket for point in points})
    assert buckets == [date(2026, 6, 29), date(2026, 7, 6), date(2026, 7, 13)]     # up to this week only
    tally = counted(period)
    this = [point for point in points if point.bucket == date(2026, 7, 13)]
    for point in this:
        assert point.met == sum(tally[(point.channel, date(2026, 7, d), "met")] for d in range(13, 20))
    first = [point for point in points if point.bucket == date(2026, 6, 29)]
    assert first and all(point.met == point.breached == 0 for point in first)
    sunday_chat = next(point for point in points if (point.bucket, point.channel) == (date(2026, 7, 6), "chat"))
    assert (sunday_chat.met, sunday_chat.breached) == (
        tally[("chat", date(2026, 7, 12), "met")], tally[("chat", date(2026, 7, 12), "breached")]) != (0, 0)


def test_breaches_are_the_ones_compliance_counts(week, agent):
    period = this_week()
    listed = selectors.breaches(start=period.start, end=period.end, now=NOW)
    for by in ("channel", "language", "region"):
        rows = selectors.sla_compliance(start=period.start, end=period.end, by=by)
        assert sum(row.breached for row in rows) == len(listed)
    tally = counted(period)
    assert len(listed) == sum(v for k, v in tally.items() if k[2] == "breached")
    assert [b.due_at for b in listed] == sorted(b.due_at for b in listed)
    for breach in listed:
        target = SlaTarget.objects.get(ticket__reference=breach.reference, kind=breach.kind)
        assert breach.late_seconds == ((target.met_at or NOW) - target.due_at).total_seconds() > 0


def test_a_chat_answered_late_is_late_by_the_difference(contacts, agent):
    at = datetime(2026, 7, 14, 8, tzinfo=UTC)
    ticket = open_at(at, channel="chat", contact=contacts["sv"], external_ref="late-chat")
    reply_at(ticket, at + timedelta(minutes=4), agent)
    (breach,) = selectors.breaches(start=at - timedelta(hours=1), end=at + timedelta(hours=1), now=NOW)
    assert (breach.reference, breach.kind, breach.late_seconds) == (ticket.reference, "first_response", 180)
    assert (breach.channel, breach.language, breach.region) == ("chat", "sv", "europe")


@pytest.fixture
def owners(db):
    acme = ExtensionOwner.objects.create(name="Acme Plugins", slug="acme")
    return {"acme": acme, "charts": Extension.objects.create(name="Acme Charts", slug="acme-charts", owner=acme)}


def test_misassignments_list_the_tickets_owners_returned_in_the_period(contacts, agent, owners):
    made = []
    for n, day in enumerate([13, 14, 14, 20]):
        at = datetime(2026, 7, day, 8, tzinfo=UTC)
        ticket = open_at(at, channel="email", contact=contacts["de"], external_ref=f"<m{n}@x>")
        with time_machine.travel(at + timedelta(minutes=5), tick=False):
            actions.triage_ticket(ticket=ticket, scope="extension", category="bug", extension=owners["charts"],
                                  actor=tickets.Actor(user=agent))
        made.append(ticket)
    for n in (1, 2, 3):         # the owner says "not ours" a day later: the 21st falls after the week
        with time_machine.travel(made[n].received_at + timedelta(days=1), tick=False):
            actions.return_to_triage(ticket=made[n], actor=tickets.Actor(label="acme"), reason="not-our-extension")
    period = this_week()
    rows = selectors.misassignments(start=period.start, end=period.end)
    assert [row.reference for row in rows] == [made[2].reference, made[1].reference]      # the latest first
    assert {(row.extension, row.owner, row.reason, row.status) for row in rows} == {
        ("acme-charts", "Acme Plugins", "not-our-extension", "open")}


def test_live_queues_show_who_waits_and_for_how_long(contacts, agent):
    def chat(at, ref):
        return open_at(at, channel="chat", contact=contacts["sv"], external_ref=ref)

    for minute, ref in ((50, "c1"), (57, "c2"), (59.5, "c3")):
        chat(datetime(2026, 7, 15, 9, tzinfo=UTC) + timedelta(minutes=minute), ref)
    held = chat(datetime(2026, 7, 15, 9, 40, tzinfo=UTC), "held")
    actions.assign_ticket(ticket=held, assignee=agent)
    done = chat(datetime(2026, 7, 15, 9, 30, tzinfo=UTC), "done")
    actions.change_status(ticket=done, to="resolved")
    open_at(datetime(2026, 7, 15, 9, 55, tzinfo=UTC), channel="voice", contact=contacts["en"], external_ref="CA1",
            waiting_since=datetime(2026, 7, 15, 9, 56, tzinfo=UTC))
    open_at(datetime(2026, 7, 15, 8, tzinfo=UTC), channel="email", contact=contacts["en"], external_ref="<e@x>")
    rows = {(row.language, row.channel): row for row in selectors.live_queues(now=NOW)}
    assert set(rows) == {("en", "chat"), ("sv", "chat"), ("es", "chat"), ("de", "chat"), ("en", "voice"),
                         ("sv", "voice")}             # what the policy serves live; email is not live
    sv = rows[("sv", "chat")]
    assert (sv.waiting, sv.longest_seconds, sv.median_seconds) == (3, 600, 180)
    call = rows[("en", "voice")]
    assert (call.waiting, call.longest_seconds) == (1, 240)       # from when the caller began to wait
    assert (rows[("de", "chat")].waiting, rows[("de", "chat")].longest_seconds) == (0, None)


def test_occupancy_is_live_work_held_over_the_registrys_capacities(contacts, agent):
    users = get_user_model().objects
    mail_only = users.create_user("agent_mail", password="pw")
    make_agent(user=mail_only, languages=["sv"], channels=["email"])
    gone = users.create_user("agent_gone", password="pw")
    make_agent(user=gone, languages=["en"], channels=["chat"])
    AgentState.objects.update_or_create(user=agent, defaults={
        "presence": "online", "last_seen_at": NOW - timedelta(seconds=10), "max_chats": 3, "max_calls": 1})
    AgentState.objects.update_or_create(user=gone, defaults={
        "presence": "online", "last_seen_at": NOW - timedelta(minutes=5)})
    AgentState.objects.update_or_create(user=mail_only, defaults={"presence": "away", "last_seen_at": NOW})
    for n in range(2):
        ticket = open_at(datetime(2026, 7, 15, 9, n, tzinfo=UTC), channel="chat", contact=contacts["sv"],
                         external_ref=f"held-{n}")
        actions.assign_ticket(ticket=ticket, assignee=agent)
    mail = open_at(datetime(2026, 7, 15, 9, tzinfo=UTC), channel="email", contact=contacts["sv"],
                   external_ref="<held@x>")
    actions.assign_ticket(ticket=mail, assignee=agent)       # email is not capped: no live load
    rows = {row.username: row for row in agent_occupancy(now=NOW)}
    sv = rows["agent_sv"]       # chat 3 + voice 1 (its email is uncapped)
    assert (sv.presence, sv.load, sv.capacity, sv.occupancy) == ("online", 2, 4, 0.5)
    assert rows["agent_gone"].presence == "offline"           # its console stopped calling in
    assert (rows["agent_mail"].presence, rows["agent_mail"].capacity, rows["agent_mail"].occupancy) == (
        "away", 0, None)
