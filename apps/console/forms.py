"""The console's forms: the ticket search's words and filters (from the search page's query string), saved
searches, and the agent's own profile (display name, signature, zone, language, notifications)."""

from datetime import datetime, time, timedelta

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from apps.accounts.names import display_name
from apps.accounts.preferences import LANGUAGE_AUTONYMS, available_time_zones, zone_label
from apps.owners.models import Extension, ExtensionOwner
from apps.policy.languages import Channel, Language
from apps.policy.models import Region
from apps.tickets.models import Ticket

ANY = [("", _("Any"))]
BREACHED = [("", _("Any")), ("true", _("Breached")), ("false", _("Not breached"))]


class TicketSearchForm(forms.Form):
    """Every filter of ``tickets.selectors.ticket_list``; dates are days in the viewer's zone, both included."""

    q = forms.CharField(label=_("Search"), required=False, max_length=200, strip=True)
    status = forms.ChoiceField(label=_("Status"), required=False, choices=ANY + Ticket.Status.choices)
    channel = forms.ChoiceField(label=_("Channel"), required=False, choices=ANY + Channel.choices)
    language = forms.ChoiceField(label=_("Language"), required=False, choices=ANY + Language.choices)
    region = forms.ChoiceField(label=_("Region"), required=False)
    extension = forms.ChoiceField(label=_("Extension"), required=False)
    owner = forms.ChoiceField(label=_("Owner"), required=False)
    since = forms.DateField(label=_("Received from"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("Received until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    breached = forms.ChoiceField(label=_("SLA"), required=False, choices=BREACHED)
    assignee = forms.ChoiceField(label=_("Agent"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].choices = ANY + [(r.slug, r.name) for r in Region.objects.order_by("name")]
        self.fields["extension"].choices = ANY + [(e.slug, e.name) for e in Extension.objects.order_by("name")]
        self.fields["owner"].choices = ANY + [(o.slug, o.name) for o in ExtensionOwner.objects.order_by("name")]
        self.fields["assignee"].choices = ANY + [("me", _("Me")), ("none", _("Unassigned"))] + [
            (str(user.pk), display_name(user)) for user in _agents()]

    def clean_q(self):
        value = self.cleaned_data["q"]
        if "\x00" in value:
            raise forms.ValidationError(_("The search may not contain a NUL character."))
        return value

    def filters(self) -> dict:
        """The keyword arguments of ``ticket_list`` (call after ``is_valid``)."""
        data = self.cleaned_data
        breached = {"true": True, "false": False}.get(data["breached"])
        return {"q": data["q"], "status": data["status"], "channel": data["channel"], "language": data["language"],
                "region": data["region"], "extension": data["extension"], "owner": data["owner"],
                "since": _start_of(data["since"]), "until": _start_of(data["until"], days=1), "breached": breached,
                "assignee": data["assignee"]}

    def query_string(self) -> str:
        """The search's non-empty fields as a query string, in the form's order (for links and saving)."""
        query = QueryDict(mutable=True)
        for name in self.fields:
            if self.data.get(name):
                query[name] = self.data[name]
        return query.urlencode()

    def has_criteria(self) -> bool:
        return any(value not in ("", None) for value in self.cleaned_data.values())


def _agents():
    return (get_user_model().objects.filter(is_active=True, agent_profile__isnull=False)
            .select_related("agent_profile").order_by("username"))


def _start_of(day, *, days: int = 0) -> datetime | None:
    """Midnight starting ``day`` (+ ``days``) in the viewer's zone: "until the 3rd" takes all of the 3rd."""
    if day is None:
        return None
    return timezone.make_aware(datetime.combine(day + timedelta(days=days), time.min))


class SavedSearchForm(forms.Form):
    """A name for the search on the page, and that search as its query string."""

    name = forms.CharField(label=_("Name"), max_length=100, strip=True)
    params = forms.CharField(required=False, max_length=2000)

    def clean_params(self):
        """Only the search's own fields are kept (no page number): the saved link runs the search, from page 1."""
        search = TicketSearchForm(QueryDict(self.cleaned_data["params"]))
        if not search.is_valid():
            raise forms.ValidationError(_("The search to save is not valid."))
        return search.query_string()


def language_choices() -> list[tuple[str, str]]:
    return [("", _("As my browser"))] + [(code, LANGUAGE_AUTONYMS.get(code, code)) for code, _n in settings.LANGUAGES]


class ProfileForm(forms.Form):
    display_name = forms.CharField(label=_("Display name"), max_length=100, required=False,
                                   help_text=_("How customers and colleagues see you; empty: your full name."))
    signature = forms.CharField(label=_("Signature"), max_length=1000, required=False,
                                widget=forms.Textarea(attrs={"rows": 4}),
                                help_text=_("Added below your email replies."))
    time_zone = forms.ChoiceField(label=_("Time zone"), choices=())
    language = forms.ChoiceField(label=_("Language"), choices=(), required=False)
    notifications = forms.BooleanField(
        label=_("Sound and browser notifications for new offers and customer replies"), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, label_suffix="", **kwargs)
        self.fields["time_zone"].choices = [(zone, zone_label(zone)) for zone in available_time_zones()]
        self.fields["language"].choices = language_choices()


CHOOSE = [("", _("Choose…"))]


class TriageForm(forms.Form):
    """The ticket page's triage: nothing is guessed, every field is chosen (the extension for an extension ticket)."""

    scope = forms.ChoiceField(label=_("Scope"), error_messages={
        "required": _("Choose the scope: core product or an extension."),
        "invalid_choice": _("Choose the scope: core product or an extension.")})
    extension = forms.ModelChoiceField(label=_("Extension"), queryset=Extension.objects.order_by("name"),
                                       to_field_name="slug", required=False, empty_label=_("Choose…"),
                                       error_messages={"invalid_choice": _("Choose an extension from the list.")})
    category = forms.ChoiceField(label=_("Category"), choices=CHOOSE + Ticket.Category.choices, error_messages={
        "required": _("Choose the category."), "invalid_choice": _("Choose the category.")})
    language = forms.ChoiceField(label=_("Language"), choices=CHOOSE + Language.choices, error_messages={
        "required": _("Choose the ticket's language."), "invalid_choice": _("Choose the ticket's language.")})

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "triage-%s")
        super().__init__(*args, **kwargs)
        self.fields["scope"].choices = CHOOSE + [c for c in Ticket.Scope.choices if c[0] != Ticket.Scope.UNTRIAGED]

    def clean(self):
        data = super().clean()
        if data.get("scope") == Ticket.Scope.EXTENSION and not data.get("extension"):
            self.add_error("extension", _("An extension ticket needs its extension: choose it."))
        return data

    @classmethod
    def for_ticket(cls, ticket: Ticket) -> "TriageForm":
        """The ticket's triage as it stands; an untriaged ticket's fields start empty, its language is known."""
        if ticket.scope == Ticket.Scope.UNTRIAGED:
            return cls(initial={"language": ticket.language})
        return cls(initial={"scope": ticket.scope, "category": ticket.category, "language": ticket.language,
                            "extension": ticket.extension.slug if ticket.extension else None})
