"""The manager's reports: SLA compliance for a chosen period, and the staffing forecast (page and CSV)."""

import csv
from datetime import UTC, date, datetime, timedelta

from django.contrib.auth.decorators import login_required, user_passes_test
from django.http import HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.reports.selectors import chat_ratings, policy_targets, sla_compliance
from apps.reports.staffing import HANDLE_SOURCE_LABELS, SERVICE_LEVEL_TARGET, WEEKS, staffing_forecast
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


@login_required
@user_passes_test(is_manager)
def staffing(request):
    return render(request, "reports/staffing.html", {
        "forecasts": staffing_forecast(now=timezone.now()), "weeks": WEEKS, "hours": range(24),
        "target_share": f"{round(SERVICE_LEVEL_TARGET * 100)} %", "sources": HANDLE_SOURCE_LABELS})


@login_required
@user_passes_test(is_manager)
def staffing_csv(request):
    """The forecast grids as one row per queue and hour of the week: codes and words both."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="staffing-forecast.csv"'
    writer = csv.writer(response)
    writer.writerow(["language", _("Language"), "channel", _("Channel"), _("Time zone"), "weekday", _("Day"),
                     _("Hour"), _("Arrivals"), _("Arrivals per hour"), _("Handling time (seconds)"),
                     _("Handling time from"), _("Traffic (Erlangs)"), _("Agents needed"), _("Service level"),
                     _("Average speed of answer (seconds)"), _("Occupancy"), _("Agents serving the queue"),
                     _("Online now"), _("Understaffed")])
    for forecast in staffing_forecast(now=timezone.now()):
        for row in forecast.rows:
            for cell in row:
                writer.writerow([
                    forecast.language, forecast.language_label, forecast.channel, forecast.channel_label,
                    forecast.zone, cell.weekday, forecast.day_label(cell.weekday), f"{cell.hour:02d}:00",
                    cell.arrivals, f"{cell.arrivals_per_hour:.3f}", f"{cell.handle_seconds:.0f}",
                    HANDLE_SOURCE_LABELS[cell.handle_source], f"{cell.staffing.traffic:.3f}", cell.needed,
                    f"{cell.staffing.service_level:.4f}", f"{cell.staffing.asa_seconds:.1f}",
                    f"{cell.staffing.occupancy:.4f}", cell.serving,
                    "" if cell.online_now is None else cell.online_now,
                    _("yes") if cell.understaffed else _("no")])
    return response
