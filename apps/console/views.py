"""Console pages: they parse the request, check the agent may act, call one service, respond."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponseBadRequest, HttpResponseForbidden, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from apps.accounts import services as accounts
from apps.accounts.decorators import manager_required
from apps.accounts.models import AgentProfile
from apps.console import bulk, exports, selectors, worklists
from apps.console import services as console
from apps.console.forms import ProfileForm, SavedSearchForm, TicketSearchForm, TriageForm
from apps.console.history import CHAT_TEXTS, MERGED_TEXTS, RATINGS, SLA_OUTCOMES
from apps.desk import actions
from apps.routing import services as routing
from apps.routing.models import AgentState, Queue
from apps.sla.models import SlaTarget
from apps.tickets import access, channels
from apps.tickets import selectors as ticket_selectors
from apps.tickets import services as tickets
from apps.tickets.files import download_response
from apps.tickets.models import Ticket, TicketEvent


def agent_required(view):
    """Signed-in agents, the manager and superusers (by role, not ``is_staff``); others are refused."""
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not access.works_tickets(request.user):
            if "reference" in kwargs:
                raise Http404(kwargs["reference"])   # a ticket is not even shown to exist
            return HttpResponseForbidden(_("The console is for agents."))
        return view(request, *args, **kwargs)
    return wrapper


def _ticket_for(request, reference: str) -> Ticket:
    ticket = selectors.ticket_view(reference=reference)
    if ticket is None:
        raise Http404(reference)
    if not access.can_act_on(request.user, ticket):
        raise Http404(reference)   # outside the agent's queues: not even its existence is shown
    return ticket


def _strings() -> dict:
    """Texts the console's script shows, translated in the agent's language."""
    return {
        "offer": _("New ticket · %(channel)s · %(language)s: %(subject)s"),
        "accept": _("Accept"), "decline": _("Decline"), "taken": _("Taken by %(agent)s"),
        "alsoViewing": _("Also viewing: %(agents)s"), "reconnecting": _("Reconnecting…"),
        "connected": _("Live"), "breached": _("breached"), "met": _("met"), "unassigned": _("unassigned"),
        # The ticket page's SLA countdowns ("0:42 left", "Overdue 1:05") and the words for closed targets.
        "slaLeft": _("%(time)s left"), "slaOverdue": _("Overdue %(time)s"), "slaDays": _("%(days)s d %(time)s"),
        "slaMet": _("Met"), "slaMetLate": _("Breached, met late"), "slaNotApplicable": _("Not applicable"),
        "slaAnnounce": _("%(target)s: %(state)s"), "cannedFound": _("Canned responses found: %(count)s"),
        "open": _("Open"), "noSubject": _("(no subject)"),
        "chatAlert": _("New from %(author)s in %(ticket)s (%(count)s)"),
        "customerReply": _("%(author)s replied in %(ticket)s"),
        "misassigned": _("%(owner)s says %(ticket)s is not about %(extension)s: it is back in triage."),
        # Events carry codes (one payload for every console); each console shows its own labels.
        "statuses": {code: str(label) for code, label in Ticket.Status.choices},
        "channels": {code: str(label) for code, label in Ticket._meta.get_field("channel").choices},
        "languages": {code: str(label) for code, label in Ticket._meta.get_field("language").choices},
        "select": _("Select %(reference)s"),
        "slaKinds": {code: str(label) for code, label in SlaTarget.Kind.choices},
        "eventKinds": {code: str(label) for code, label in TicketEvent.Kind.choices},
        "systemActors": {code: str(label) for code, label in TicketEvent.SYSTEM_ACTORS.items()},
        "slaOutcomes": {code: str(label) for code, label in SLA_OUTCOMES.items()},
        "chat": {**{code: str(text) for code, text in CHAT_TEXTS.items()},
                 "ratings": {code: str(label) for code, label in RATINGS.items()}},
        "merged": {code: str(text) for code, text in MERGED_TEXTS.items()},
    }


HOME_FILTERS = ("status", "channel", "language", "region", "extension", "assignee", "since", "until")


@agent_required
def console_home(request):
    """The agent's views with their counts; the default view (no filter, SLA order) follows events live."""
    user = request.user
    view = worklists.VIEWS.get(request.GET.get("view", ""), worklists.DEFAULT)
    form = TicketSearchForm(request.GET)
    filters = form.filters() if form.is_valid() else {}
    sort = request.GET.get("sort", "")
    sort = sort if sort in worklists.SORTS else view.sort
    filtered = any(request.GET.get(name) for name in HOME_FILTERS)
    counts = worklists.counts(user=user)
    return render(request, "console/home.html", {
        "queues": routing.visible_queues(user), "state": routing.agent_state(user),
        "tickets": worklists.worklist(user=user, view=view, filters=filters, sort=sort),
        "done_statuses": worklists.DONE, "view": view, "agents": _agents(),
        "views": [(v, counts[name]) for name, v in worklists.VIEWS.items()],
        "sort": sort, "sorts": [(name, label) for name, (label, _order) in worklists.SORTS.items()],
        "form": form, "filter_fields": [form[name] for name in HOME_FILTERS], "filtered": filtered,
        "live": view is worklists.DEFAULT and sort == "sla" and not filtered,
        "counts": selectors.live_counts(user=user), "undo": _undo_notice(request),
        "strings": _strings(), "presences": AgentState.Presence.choices,
    })


UNDO_KEY = "console.undo_resolve"


def _offer_undo(request, ticket: Ticket) -> None:
    """Remember the ticket just resolved: the next console page offers to reopen it."""
    request.session[UNDO_KEY] = ticket.reference


def _undo_notice(request) -> str | None:
    """The reference resolved a moment ago, shown once ("SD-… resolved — Undo")."""
    return request.session.pop(UNDO_KEY, None)


@require_POST
@agent_required
def post_bulk(request):
    """Several tickets at once: each checked with the access rule and done through the actions layer."""
    action = request.POST.get("action", "")
    to_agent = None
    if action == "transfer":
        to_agent = _agents().filter(pk=request.POST.get("agent") if request.POST.get("agent", "").isdigit() else None
                                    ).first()
        if to_agent is None:
            return HttpResponseBadRequest(_("Choose an agent to transfer to."))
    if action not in bulk.BULK_ACTIONS:
        return HttpResponseBadRequest(_("Unknown action."))
    result = bulk.bulk_act(user=request.user, references=request.POST.getlist("tickets"), action=action,
                           to_agent=to_agent)
    if result.changed:
        messages.success(request, ngettext("%(count)s ticket changed: %(tickets)s.",
                                           "%(count)s tickets changed: %(tickets)s.", len(result.changed))
                         % {"count": len(result.changed), "tickets": ", ".join(result.changed)})
    if result.refused:
        messages.error(request, ngettext("%(count)s ticket refused: %(tickets)s.",
                                         "%(count)s tickets refused: %(tickets)s.", len(result.refused))
                       % {"count": len(result.refused),
                          "tickets": "; ".join(f"{ref} ({why})" for ref, why in result.refused)})
    if not result.changed and not result.refused:
        messages.error(request, _("Select at least one ticket."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = reverse("console:home")
    return redirect(back)


@agent_required
def ticket_detail(request, reference):
    ticket = _ticket_for(request, reference)
    return render(request, "console/ticket.html", {
        "ticket": ticket, "thread": ticket.messages.all(), "events": ticket.events.all(),
        "targets": ticket.sla_targets.all(), "strings": _strings(),
        "channel_panel": channels.spec(ticket.channel).console_panel,
        "canned": [{"title": title, "body": body}
                   for title, body in selectors.canned_responses(ticket=ticket, agent=request.user)],
        "destinations": selectors.composer_choices(ticket),
        "triage": TriageForm.for_ticket(ticket),
        # In the workflow's order, after a "Move to…" that is chosen: "Change" alone changes nothing.
        "statuses": [(s.value, s.label) for s in Ticket.Status if s in tickets.ALLOWED_TRANSITIONS[ticket.status]],
        "agents": _agents(),
        "queues": Queue.objects.all(),
        "undo": _undo_notice(request),
        "show_similar": (triaging := _triaging(ticket)),
        "similar": ticket_selectors.similar_resolved(ticket, user=request.user) if triaging else [],
    })


def _agents():
    """Agents a ticket may be handed to (staff with an agent profile)."""
    return (get_user_model().objects.filter(is_staff=True, is_active=True, agent_profile__isnull=False)
            .select_related("agent_profile").order_by("username"))


def _triaging(ticket: Ticket) -> bool:
    """Untriaged or still new/open: resolved tickets like it show the agent how those were triaged."""
    if ticket.status in (Ticket.Status.RESOLVED, Ticket.Status.CLOSED):
        return False
    return ticket.scope == Ticket.Scope.UNTRIAGED or ticket.status in (Ticket.Status.NEW, Ticket.Status.OPEN)


SEARCH_PAGE_SIZE = 25


@agent_required
def search(request):
    """The ticket database: words and filters through ``ticket_list``, the API's rule and ranking, 25 a page."""
    form = TicketSearchForm(request.GET)
    page, rows, query = None, [], ""
    if form.is_valid():
        found = ticket_selectors.ticket_list(user=request.user, **form.filters())
        page = Paginator(found, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
        tickets = list(page)
        snippets = selectors.snippets(tickets=tickets, q=form.cleaned_data["q"])
        breached = ticket_selectors.breached_ids([ticket.pk for ticket in tickets])
        rows = [(ticket, snippets.get(ticket.pk), ticket.pk in breached) for ticket in tickets]
        query = form.query_string()
    return render(request, "console/search.html", {
        "form": form, "page": page, "rows": rows, "query": query, "search_q": form.data.get("q", ""),
        "saved": selectors.saved_searches(user=request.user), "save_form": SavedSearchForm(initial={"params": query}),
    })


@agent_required
def search_export(request):
    """Every ticket the search finds that the user may open, as CSV: streamed, not just the page."""
    form = TicketSearchForm(request.GET)
    if not form.is_valid():
        return HttpResponseBadRequest("\n".join(str(e) for errors in form.errors.values() for e in errors),
                                      content_type="text/plain; charset=utf-8")
    found = ticket_selectors.ticket_list(user=request.user, **form.filters())
    lines = exports.csv_lines(found, words=exports.labels(), zone=timezone.get_current_timezone())
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="tickets.csv"'
    return response


@require_POST
@agent_required
def post_saved_search(request):
    form = SavedSearchForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        back = QueryDict(request.POST.get("params", "")[:2000]).urlencode()   # re-encoded: no stray character
        return redirect(reverse("console:search") + "?" + back)
    saved = console.save_search(user=request.user, name=form.cleaned_data["name"],
                                params=form.cleaned_data["params"])
    messages.success(request, _("Saved the search “%(name)s”.") % {"name": saved.name})
    return redirect(reverse("console:search") + "?" + saved.params)


@require_POST
@agent_required
def delete_saved_search(request, saved_id):
    if not console.delete_saved_search(user=request.user, saved_id=saved_id):
        raise Http404(saved_id)   # another agent's saved search is not even shown to exist
    return redirect("console:search")


@agent_required
def download_attachment(request, reference, attachment_id):
    attachment = ticket_selectors.attachment(reference=reference, attachment_id=attachment_id, user=request.user)
    if attachment is None:
        raise Http404(reference)   # as for the ticket itself: outside the agent's queues it does not exist
    return download_response(attachment)


def _act(request, reference, action):
    """Run one ticket action and come back to the ticket, with its error shown if refused."""
    ticket = _ticket_for(request, reference)
    try:
        action(ticket)
    except (tickets.TicketError, routing.RoutingError) as error:
        messages.error(request, str(error))
    return redirect("console:ticket", reference=reference)


@require_POST
@agent_required
def post_reply(request, reference):
    """The one composer: ``destination`` says where the text goes (live, email, note, note shared with the owner).

    A form from before the composer (``kind=note`` with ``share_with_owner``, or a reply with no
    destination) is read as the note or reply it was.
    """
    body, files = request.POST.get("body", ""), request.FILES.getlist("files")
    destination = request.POST.get("destination", "")
    if not destination and request.POST.get("kind") == "note":
        destination = (selectors.Destination.SHARED_NOTE if request.POST.get("share_with_owner") == "1"
                       else selectors.Destination.NOTE)
    if not destination:
        return _act(request, reference, lambda t: console.reply(ticket=t, user=request.user, body=body, files=files))
    return _act(request, reference, lambda t: console.send(ticket=t, user=request.user, destination=destination,
                                                           body=body, files=files))


@require_POST
@agent_required
def post_status(request, reference):
    to = request.POST.get("status", "")

    def change(ticket):
        actions.change_status(ticket=ticket, to=to, actor=tickets.Actor(user=request.user))
        if to == Ticket.Status.RESOLVED:
            _offer_undo(request, ticket)
    return _act(request, reference, change)


@require_POST
@agent_required
def post_triage(request, reference):
    form = TriageForm(request.POST)
    if not form.is_valid():
        _ticket_for(request, reference)      # outside the agent's queues: 404 before any word on the form
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("console:ticket", reference=reference)
    data = form.cleaned_data
    return _act(request, reference, lambda t: actions.triage_ticket(
        ticket=t, scope=data["scope"], category=data["category"], extension=data["extension"],
        language=data["language"], actor=tickets.Actor(user=request.user)))


@require_POST
@agent_required
def post_take(request, reference):
    return _act(request, reference, lambda t: actions.take_ticket(ticket=t, user=request.user))


@require_POST
@agent_required
def post_transfer(request, reference):
    to_agent = get_user_model().objects.filter(pk=request.POST.get("agent") or None).first()
    to_queue = Queue.objects.filter(pk=request.POST.get("queue") or None).first()
    return _act(request, reference, lambda t: actions.transfer_ticket(
        ticket=t, user=request.user, to_agent=to_agent, to_queue=to_queue))


@require_POST
@agent_required
def post_merge(request, reference):
    """Merge this ticket into another open ticket of the same person; the survivor's page follows."""
    ticket = _ticket_for(request, reference)
    into = selectors.ticket_view(reference=request.POST.get("into", "").strip().upper())
    try:
        if into is None or not access.can_act_on(request.user, into):
            raise tickets.TicketError(_("Choose another ticket of this person to merge into."))
        survivor = actions.merge_tickets(ticket=ticket, into=into, user=request.user)
    except tickets.TicketError as error:
        messages.error(request, str(error))
        return redirect("console:ticket", reference=ticket.reference)
    messages.success(request, _("%(merged)s is merged into %(survivor)s.") % {
        "merged": ticket.reference, "survivor": survivor.reference})
    return redirect("console:ticket", reference=survivor.reference)


@agent_required
def contact_detail(request, contact_id):
    """A person and every ticket of theirs the agent may open; a person with none of those is not found."""
    contact = ticket_selectors.contact_for(contact_id=contact_id, user=request.user)
    if contact is None:
        raise Http404(contact_id)
    return render(request, "console/contact.html", {
        "contact": contact, "tickets": ticket_selectors.contact_tickets(contact=contact, user=request.user)})


@require_POST
@agent_required
def post_presence(request):
    try:
        routing.set_presence(user=request.user, presence=request.POST.get("presence", ""))
    except routing.RoutingError as error:
        messages.error(request, str(error))
    return redirect("console:home")


@manager_required
def manager_view(request):
    return render(request, "console/manager.html", {
        "agents": selectors.agent_overview(), "queues": selectors.queue_overview(),
        "breaches": selectors.breached_targets(), "strings": _strings(),
    })


def _own_profile(request) -> AgentProfile:
    profile = AgentProfile.objects.filter(user=request.user).first()
    if profile is None:   # a superuser without one: a profile would make them an agent
        raise Http404("no agent profile")
    return profile


@agent_required
def profile_view(request):
    """The agent's own settings; saved, the very next page is in the chosen language and zone."""
    profile = _own_profile(request)
    form = ProfileForm(request.POST or None, initial={
        "display_name": profile.display_name, "signature": profile.signature, "time_zone": profile.time_zone,
        "language": profile.language, "notifications": profile.notifications})
    if request.method == "POST" and form.is_valid():
        accounts.update_preferences(profile=profile, **form.cleaned_data)
        _remember_language(request, profile.language)
        messages.success(request, _("Your profile is saved."))
        response = redirect("console:profile")
        return _language_cookie(response, profile.language)
    return render(request, "console/profile.html", {"form": form, "profile": profile, "strings": _strings()})


@require_POST
@agent_required
def post_language(request):
    """The language switcher on every console page: kept on the profile, then back where the agent was."""
    profile = _own_profile(request)
    language = request.POST.get("language", "")
    try:
        accounts.set_language(profile=profile, language=language)
    except ValueError:
        return HttpResponseBadRequest(_("Unknown language."))
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        back = reverse("console:home")
    return _language_cookie(redirect(back), language)


def _remember_language(request, language: str) -> None:
    """The "saved" notice is written now and read on the next page: in the language chosen."""
    translation.activate(language or translation.get_language_from_request(request))


def _language_cookie(response, language: str):
    """Pages outside the console (sign-in, after signing out) follow the same choice."""
    if language:
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
                            path=settings.LANGUAGE_COOKIE_PATH, samesite=settings.LANGUAGE_COOKIE_SAMESITE)
    else:
        response.delete_cookie(settings.LANGUAGE_COOKIE_NAME, path=settings.LANGUAGE_COOKIE_PATH)
    return response
