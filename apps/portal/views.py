"""``/owners/``: the owner admins' own view of their extensions' tickets (edge: read, and two actions).

Anyone else, and any ticket outside the owner's extensions, gets 404: the portal does not
show that a ticket exists.
"""

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from apps.desk import actions
from apps.jira_sync import sync
from apps.portal import selectors
from apps.tickets.access import owner_of
from apps.tickets.models import Ticket
from apps.tickets.services import Actor, TicketError


def owner_admin_required(view):
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        owner = owner_of(request.user)
        if owner is None:
            raise Http404("owner portal")
        request.owner = owner
        return view(request, *args, **kwargs)
    return wrapper


def _ticket_or_404(request, reference: str) -> Ticket:
    ticket = selectors.ticket(request.user, reference)
    if ticket is None:
        raise Http404(reference)
    return ticket


@owner_admin_required
def ticket_list(request):
    status = request.GET.get("status", "")
    if status not in Ticket.Status.values:
        status = ""
    page = Paginator(selectors.ticket_list(request.user, status=status), selectors.PAGE_SIZE).get_page(
        request.GET.get("page"))
    return render(request, "portal/list.html", {
        "owner": request.owner, "page": page, "status": status, "statuses": Ticket.Status.choices})


@owner_admin_required
def ticket_detail(request, reference):
    ticket = _ticket_or_404(request, reference)
    return render(request, "portal/ticket.html", {
        "owner": request.owner, "ticket": ticket, "thread": selectors.thread(ticket),
        "history": selectors.history(ticket), "link": getattr(ticket, "jira_link", None),
        "targets": ticket.sla_targets.all()})


@require_POST
@owner_admin_required
def not_ours(request, reference):
    ticket = _ticket_or_404(request, reference)
    reason = request.POST.get("reason", "").strip()[:500]
    try:
        actions.return_to_triage(ticket=ticket, actor=Actor(user=request.user),
                                 reason=reason or _("not our extension (owner portal)"))
    except TicketError as error:
        messages.error(request, str(error))
        return redirect("portal:ticket", reference=ticket.reference)
    messages.success(request, _("%(reference)s was returned to the support desk. Thank you.") % {
        "reference": ticket.reference})
    return redirect("portal:list")


@require_POST
@owner_admin_required
def answer_elsewhere(request, reference):
    ticket = _ticket_or_404(request, reference)
    sync.answer_elsewhere(ticket=ticket, user=request.user)
    return redirect("portal:ticket", reference=ticket.reference)


REPORT_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf", "csv": "text/csv; charset=utf-8"}


@owner_admin_required
def report_list(request):
    return render(request, "portal/reports.html", {"owner": request.owner,
                                                   "reports": request.owner.reports.order_by("-quarter")})


@owner_admin_required
def report_file(request, quarter, kind):
    """One of the owner's own reports; another owner's quarter is simply not found."""
    report = request.owner.reports.filter(quarter=quarter).first()
    if report is None or kind not in REPORT_TYPES or not getattr(report, kind):
        raise Http404(quarter)
    name = f"{request.owner.slug}-{report.quarter}.{kind}"
    return FileResponse(getattr(report, kind).open("rb"), content_type=REPORT_TYPES[kind], filename=name,
                        as_attachment=kind != "html")
