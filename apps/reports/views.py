"""The manager's reports: the dashboard (the period's SLA compliance, trend, breaches and misassignments,
the live queues and agents now; every table also as CSV, ``?format=csv&table=<name>``) and the staffing forecast."""

import csv

from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.accounts.decorators import manager_required
from apps.reports import dashboard
from apps.reports.periods import PRESETS, period_for
from apps.reports.staffing import HANDLE_SOURCE_LABELS, SERVICE_LEVEL_TARGET, WEEKS, staffing_forecast


@manager_required
def sla_dashboard(request):
    now = timezone.now()
    zone = timezone.get_current_timezone()          # the manager's own (accounts' middleware)
    period = period_for(request.GET, today=timezone.localdate(now, zone), zone=zone)
    if request.GET.get("format") == "csv":
        name = request.GET.get("table", "")
        if name not in dashboard.NAMES:
            raise Http404("no such table")
        response = HttpResponse(dashboard.build(name, period=period, now=now).csv(),
                                content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (f'attachment; filename="{name}-{period.first_day:%Y%m%d}-'
                                           f'{period.last_day:%Y%m%d}.csv"')
        return response
    tables = {table.name: table for table in dashboard.build_all(period=period, now=now)}
    return render(request, "reports/sla_dashboard.html", {
        "period": period, "presets": PRESETS, "tables": tables, "zone": zone, "now": now,
        "now_tables": [tables[name] for name in ("queues", "agents", "outbox")],
        "period_tables": [tables[name] for name in ("compliance_channel", "compliance_language", "compliance_region",
                                                    "breaches", "misassignments", "ratings", "policies")]})


@manager_required
def staffing(request):
    forecasts = staffing_forecast(now=timezone.now())
    return render(request, "reports/staffing.html", {
        "forecasts": forecasts, "weeks": WEEKS, "hours": range(24),
        "presence_recorded": any(forecast.rows[0][0].online_average is not None for forecast in forecasts),
        "target_share": f"{round(SERVICE_LEVEL_TARGET * 100)} %", "sources": HANDLE_SOURCE_LABELS})


@manager_required
def staffing_csv(request):
    """The forecast grids as one row per queue and hour of the week: codes and words both."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="staffing-forecast.csv"'
    writer = csv.writer(response)
    writer.writerow(["language", _("Language"), "channel", _("Channel"), _("Time zone"), "weekday", _("Day"),
                     _("Hour"), _("Arrivals"), _("Arrivals per hour"), _("Handling time (seconds)"),
                     _("Handling time from"), _("Traffic (Erlangs)"), _("Agents needed"), _("Service level"),
                     _("Average speed of answer (seconds)"), _("Occupancy"), _("Agents serving the queue"),
                     _("Online now"), _("Online on average"), _("Understaffed")])
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
                    "" if cell.online_average is None else f"{cell.online_average:.2f}",
                    _("yes") if cell.understaffed else _("no")])
    return response
