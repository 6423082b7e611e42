"""The User Support Manager's settings, without the admin: business hours and service windows, holidays
and dates, canned responses, feedback API keys and agents' skills.

Each view parses a form, asks the one manager rule, calls the owning app's service and answers; a
service's refusal is shown beside the form, in the manager's language, and nothing is saved.
"""

from collections.abc import Callable

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from apps.accounts.decorators import manager_required
from apps.accounts.services import SkillsError
from apps.console.settings_forms import (
    ApiKeyForm,
    CannedResponseForm,
    DateOverrideForm,
    PeriodFormSet,
    ServiceWindowForm,
    SkillsForm,
)
from apps.console.views import _strings
from apps.feedback import services as feedback
from apps.feedback.models import ApiKey
from apps.policy import selectors as policy_selectors
from apps.policy import services as policy
from apps.policy.models import ChannelRule, DateOverride, Region, ServiceWindow
from apps.routing import selectors as routing_selectors
from apps.routing import services as routing
from apps.tickets import services as tickets
from apps.tickets.labels import region_name
from apps.tickets.models import CannedResponse


def _page(request, template: str, section: str, **context):
    return render(request, f"console/settings/{template}", {"strings": _strings(), "section": section, **context})


def _save(request, form, save: Callable[[], object], *, refused: type[Exception] | tuple[type[Exception], ...],
          saved: str, then: str) -> tuple[HttpResponse | None, str]:
    """A settings form posted valid is saved by ``save`` (the owning app's service): ``(redirect to then, "")``
    with the ``saved`` message; a ``refused`` error gives ``(None, its text)`` for the form page (the
    service saved nothing); a page shown or a form with errors gives ``(None, "")``."""
    if request.method != "POST" or not form.is_valid():
        return None, ""
    try:
        save()
    except refused as refusal:
        return None, str(refusal)
    messages.success(request, saved)
    return redirect(then), ""


@manager_required
def settings_home(request):
    return _page(request, "home.html", "", regions=policy_selectors.regions_with_hours(),
                 windows=policy_selectors.service_windows(), canned=CannedResponse.objects.count(),
                 keys=ApiKey.objects.filter(revoked_at__isnull=True).count(),
                 agents=len(routing_selectors.agent_skills()))


# --- business hours and service windows ---


@manager_required
def settings_hours(request):
    rules = ChannelRule.objects.select_related("window").order_by("channel")
    return _page(request, "hours.html", "hours", regions=policy_selectors.regions_with_hours(),
                 windows=policy_selectors.service_windows(), rules=rules)


@manager_required
def settings_region_hours(request, slug):
    region = get_object_or_404(Region, slug=slug)
    initial = [{"weekday": p.weekday, "start": p.start, "end": p.end}
               for p in region.periods.order_by("weekday", "start")]
    # Bound without ``initial``: a row is kept because it is filled in, not because it changed.
    formset = (PeriodFormSet(request.POST, prefix="periods") if request.method == "POST"
               else PeriodFormSet(initial=initial, prefix="periods"))
    done, error = _save(request, formset, lambda: policy.set_opening_periods(region=region, periods=formset.periods()),
                        refused=policy.PolicyError, then="console:settings_hours",
                        saved=_("The business hours of %(region)s are saved.") % {"region": region_name(region.name)})
    return done or _page(request, "region_hours.html", "hours", region=region, formset=formset, error=error)


@manager_required
def settings_window(request, window_id):
    window = get_object_or_404(ServiceWindow, pk=window_id)
    form = ServiceWindowForm(request.POST or None, initial={
        "open_weekday": window.open_weekday, "open_time": window.open_time, "open_tz": window.open_tz,
        "close_weekday": window.close_weekday, "close_time": window.close_time, "close_tz": window.close_tz})
    done, error = _save(request, form, lambda: policy.update_service_window(window=window, **form.cleaned_data),
                        refused=policy.PolicyError, then="console:settings_hours",
                        saved=_("The service window %(name)s is saved.") % {"name": window.name})
    return done or _page(request, "window.html", "hours", window=window, form=form, error=error)


# --- holidays and date overrides ---


def _override_form_data(form: DateOverrideForm) -> dict:
    data = form.cleaned_data
    return {"region": data["region"], "day": data["day"], "kind": data["kind"], "start": data["start"],
            "end": data["end"], "note": data["note"]}


@manager_required
def settings_dates(request):
    today = timezone.localdate()
    form = DateOverrideForm(request.POST or None, initial={"kind": DateOverride.Kind.CLOSED})
    done, error = _save(request, form, lambda: policy.save_date_override(**_override_form_data(form)),
                        refused=policy.PolicyError, saved=_("The date is saved."), then="console:settings_dates")
    if done:
        return done
    regions = policy_selectors.regions_with_hours()
    return _page(request, "dates.html", "dates", form=form, error=error, today=today,
                 holidays=[policy_selectors.region_holidays(region=region, start=today, language=get_language())
                           for region in regions],
                 overrides=DateOverride.objects.filter(date__gte=today).select_related("region")
                 .order_by("date", "region__name", "start"))


@manager_required
def settings_date(request, override_id):
    override = get_object_or_404(DateOverride.objects.select_related("region"), pk=override_id)
    form = DateOverrideForm(request.POST or None, initial={
        "region": override.region.slug, "day": override.date, "kind": override.kind, "start": override.start,
        "end": override.end, "note": override.note})
    form.fields["region"].disabled = True       # a date moves to another region as a new entry
    done, error = _save(request, form,
                        lambda: policy.save_date_override(override=override, **_override_form_data(form)),
                        refused=policy.PolicyError, saved=_("The date is saved."), then="console:settings_dates")
    return done or _page(request, "date.html", "dates", override=override, form=form, error=error)


@require_POST
@manager_required
def settings_date_delete(request, override_id):
    override = get_object_or_404(DateOverride, pk=override_id)
    policy.delete_date_override(override=override)
    messages.success(request, _("The date is removed."))
    return redirect("console:settings_dates")


# --- canned responses ---


@manager_required
def settings_canned(request):
    return _page(request, "canned.html", "canned", responses=CannedResponse.objects.order_by("title"))


def _canned_form_page(request, response: CannedResponse | None):
    form = CannedResponseForm(request.POST or None, response=response)
    done, error = _save(request, form, lambda: tickets.save_canned_response(texts=form.texts(), response=response),
                        refused=tickets.CannedResponseError, saved=_("The canned response is saved."),
                        then="console:settings_canned")
    return done or _page(request, "canned_form.html", "canned", form=form, response=response, error=error)


@manager_required
def settings_canned_new(request):
    return _canned_form_page(request, None)


@manager_required
def settings_canned_edit(request, response_id):
    return _canned_form_page(request, get_object_or_404(CannedResponse, pk=response_id))


@require_POST
@manager_required
def settings_canned_delete(request, response_id):
    tickets.delete_canned_response(response=get_object_or_404(CannedResponse, pk=response_id))
    messages.success(request, _("The canned response is removed."))
    return redirect("console:settings_canned")


# --- feedback API keys ---


@never_cache
@manager_required
def settings_keys(request):
    """The keys by prefix; a key created here is shown in full on this one answer, and never again."""
    form = ApiKeyForm(request.POST or None)
    new_key = ""
    if request.method == "POST" and form.is_valid():
        _key, new_key = feedback.issue_api_key(name=form.cleaned_data["name"].strip(),
                                              region=form.cleaned_data["region"])
        form = ApiKeyForm()
    return _page(request, "keys.html", "keys", form=form, new_key=new_key,
                 keys=ApiKey.objects.select_related("region").order_by("revoked_at", "name"))


@require_POST
@manager_required
def settings_key_revoke(request, key_id):
    key = get_object_or_404(ApiKey, pk=key_id)
    feedback.revoke_api_key(key=key)
    messages.success(request, _("The key %(prefix)s… is revoked: the app's reports with it are refused "
                                "from now on.") % {"prefix": key.prefix})
    return redirect("console:settings_keys")


# --- agents' skills ---


@manager_required
def settings_agents(request):
    return _page(request, "agents.html", "agents", agents=routing_selectors.agent_skills())


@manager_required
def settings_agent(request, user_id):
    rows = routing_selectors.agent_skills(user_id=user_id)
    if not rows:
        raise Http404("no such agent")
    skills = rows[0]
    form = SkillsForm(request.POST or None, initial={
        "languages": skills.languages, "channels": skills.channels, "phone_number": skills.phone_number,
        "max_chats": skills.max_chats, "max_calls": skills.max_calls,
        "trained_extensions": skills.trained_extensions})

    def save():
        user = get_user_model().objects.select_related("agent_profile").get(pk=user_id)
        routing.set_agent_skills(user=user, **form.cleaned_data)

    done, error = _save(request, form, save, refused=(SkillsError, routing.RoutingError),
                        saved=_("The skills are saved; they apply to the next ticket."), then="console:settings_agents")
    return done or _page(request, "agent.html", "agents", skills=skills, form=form, error=error)
