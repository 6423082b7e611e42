"""The SLA dashboard: compliance for a chosen period beside the policy's targets."""

from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.decorators import login_required, user_passes_test
from django.shortcuts import render
from django.utils import timezone

from apps.reports.selectors import chat_ratings, policy_targets, sla_compliance
from apps.tickets.access import is_manager


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _period(request) -> tuple[date, date]:
    today = timezone.now().date()
    try:
        start = date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = quarter_start(today)
    try:
        end = date.fromisoformat(request.GET.get("to", ""))
    except ValueError:
        end = today
    return start, max(start, end)


@login_required
@user_passes_test(is_manager)
def sla_dashboard(request):
    start, end = _period(request)
    bounds = {"start": datetime.combine(start, datetime.min.time(), UTC),
              "end": datetime.combine(end + timedelta(days=1), datetime.min.time(), UTC)}
    sections = [(by, sla_compliance(**bounds, by=by)) for by in ("channel", "language", "region")]
    return render(request, "reports/sla_dashboard.html", {
        "start": start, "end": end, "sections": sections, "policies": policy_targets(),
        "ratings": chat_ratings(**bounds)})
