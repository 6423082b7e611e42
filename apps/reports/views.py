"""The User Support Manager's dashboard: the period's SLA compliance, trend, breaches and misassignments,
the live queues and agents now; every table also as CSV (``?format=csv&table=<name>``)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseForbidden
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.reports import dashboard
from apps.reports.periods import PRESETS, period_for
from apps.tickets.access import is_manager


@login_required
def sla_dashboard(request):
    if not is_manager(request.user):
        return HttpResponseForbidden(_("This view is for the User Support Manager."))
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
