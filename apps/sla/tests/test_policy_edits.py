"""Editing the policy moves running deadlines and never rewrites history."""

from datetime import UTC, date, datetime

import time_machine

from apps.desk import actions
from apps.desk.actions import sweep_sla
from apps.policy.models import DateOverride, OpeningPeriod
from apps.sla.services import recompute_running_targets
from conftest import run_worker


def open_email(contact, ref, at):
    with time_machine.travel(at, tick=False):
        return actions.open_ticket(channel="email", contact=contact, subject="", body="x", external_ref=ref)


def test_an_added_closure_moves_running_acknowledgements_only(contact, regions, agent):
    running = open_email(contact, "r1", datetime(2026, 3, 9, 8, 0, tzinfo=UTC))    # Mon 09:00 CET
    answered = open_email(contact, "r2", datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
    actions.add_message(ticket=answered, direction="outbound", body="hej", author_user=agent)
    before = answered.sla_targets.get(kind="acknowledge").due_at
    assert running.sla_targets.get(kind="acknowledge").due_at == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)

    DateOverride.objects.create(region=regions["europe"], date=date(2026, 3, 10), kind="closed",
                                note="Staff day")
    assert recompute_running_targets(region_id=regions["europe"].pk) == 1

    # Mon 8 h left, Tue closed, Wed 4 h -> Wed 12:00 CET
    assert running.sla_targets.get(kind="acknowledge").due_at == datetime(2026, 3, 11, 11, 0, tzinfo=UTC)
    assert answered.sla_targets.get(kind="acknowledge").due_at == before


def test_breached_targets_keep_their_breach_when_hours_grow(contact, regions):
    ticket = open_email(contact, "r3", datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
    sweep_sla(now=datetime(2026, 3, 20, tzinfo=UTC))
    OpeningPeriod.objects.filter(region=regions["europe"]).update(end="23:00")
    recompute_running_targets(region_id=regions["europe"].pk)
    ack = ticket.sla_targets.get(kind="acknowledge")
    assert ack.breached_at == datetime(2026, 3, 20, tzinfo=UTC)
    assert ack.due_at == datetime(2026, 3, 10, 11, 0, tzinfo=UTC)


def test_the_admin_queues_a_recompute_that_a_real_worker_runs(
        contact, regions, admin_client, redis_queues, django_capture_on_commit_callbacks):
    ticket = open_email(contact, "r4", datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post("/admin/policy/dateoverride/add/", {
            "region": regions["europe"].pk, "date": "2026-03-10", "kind": "closed", "note": "Staff day"})
    assert response.status_code == 302
    run_worker("sla")
    assert ticket.sla_targets.get(kind="acknowledge").due_at == datetime(2026, 3, 11, 11, 0, tzinfo=UTC)


def test_the_admin_refuses_overlapping_opening_periods(regions, admin_client):
    europe = regions["europe"]
    periods = list(europe.periods.order_by("weekday"))
    data = {"slug": "europe", "name": "Europe", "tz_name": "Europe/Stockholm", "holiday_country": "SE",
            "holiday_subdivision": "", "holiday_categories": '["public", "de_facto"]',
            "periods-TOTAL_FORMS": len(periods) + 1, "periods-INITIAL_FORMS": len(periods),
            "overrides-TOTAL_FORMS": 0, "overrides-INITIAL_FORMS": 0}
    for i, period in enumerate(periods):
        data.update({f"periods-{i}-id": period.pk, f"periods-{i}-region": europe.pk,
                     f"periods-{i}-weekday": period.weekday, f"periods-{i}-start": "08:00",
                     f"periods-{i}-end": "17:00"})
    n = len(periods)
    data.update({f"periods-{n}-region": europe.pk, f"periods-{n}-weekday": 0,
                 f"periods-{n}-start": "16:00", f"periods-{n}-end": "18:00"})
    response = admin_client.post(f"/admin/policy/region/{europe.pk}/change/", data)
    assert response.status_code == 200
    assert "overlap" in response.content.decode().lower()
    assert europe.periods.count() == n


def test_a_single_overlapping_period_is_refused_too(regions, admin_client):
    europe = regions["europe"]
    response = admin_client.post("/admin/policy/openingperiod/add/",
                                 {"region": europe.pk, "weekday": 1, "start": "16:30", "end": "18:00"})
    assert response.status_code == 200 and "overlap" in response.content.decode().lower()
    assert europe.periods.filter(weekday=1).count() == 1
