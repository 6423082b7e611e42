"""The manager's settings forms: they parse what was typed; the owning app's services decide and write."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from modeltranslation.utils import build_localized_fieldname

from apps.accounts.preferences import LANGUAGE_AUTONYMS, available_time_zones, zone_label
from apps.owners.models import Extension
from apps.policy.languages import Channel, Language
from apps.policy.models import DateOverride, Region, Weekday
from apps.policy.services import PeriodInput
from apps.tickets.labels import region_name


def _time_field(label, *, required: bool = True) -> forms.TimeField:
    return forms.TimeField(label=label, required=required, input_formats=["%H:%M", "%H:%M:%S"],
                           widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))


def _weekday_field(label) -> forms.TypedChoiceField:
    return forms.TypedChoiceField(label=label, choices=Weekday.choices, coerce=int)


class PeriodForm(forms.Form):
    """One weekly opening period; a blank extra row is skipped."""

    # A blank choice, so that the empty rows for new periods send nothing at all.
    weekday = forms.TypedChoiceField(label=_("Day"), choices=[("", "—"), *Weekday.choices], coerce=int)
    start = _time_field(_("Opens"))
    end = _time_field(_("Closes"))


class BasePeriodFormSet(forms.BaseFormSet):
    def _construct_form(self, i, **kwargs):
        # Any row left empty is dropped, an existing one too (not "this field is required").
        return super()._construct_form(i, empty_permitted=True, use_required_attribute=False, **kwargs)

    def add_fields(self, form, index):
        super().add_fields(form, index)
        # The table's heading names the columns; each control carries its name for screen readers.
        form.fields["DELETE"].label = _("Remove")
        for field in form.fields.values():
            field.widget.attrs["aria-label"] = field.label

    def periods(self) -> list[PeriodInput]:
        """The rows kept (after ``is_valid``): filled in and not marked for removal."""
        return [PeriodInput(weekday=form.cleaned_data["weekday"], start=form.cleaned_data["start"],
                            end=form.cleaned_data["end"])
                for form in self.forms
                if form.cleaned_data and not form.cleaned_data.get("DELETE")]


PeriodFormSet = forms.formset_factory(PeriodForm, formset=BasePeriodFormSet, extra=2, can_delete=True,
                                      max_num=50, validate_max=True)


def zone_choices() -> list[tuple[str, str]]:
    return [(zone, zone_label(zone)) for zone in available_time_zones()]


class ServiceWindowForm(forms.Form):
    open_weekday = _weekday_field(_("Day"))
    open_time = _time_field(_("Time"))
    open_tz = forms.ChoiceField(label=_("Time zone"), choices=())
    close_weekday = _weekday_field(_("Day"))
    close_time = _time_field(_("Time"))
    close_tz = forms.ChoiceField(label=_("Time zone"), choices=())

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["open_tz"].choices = self.fields["close_tz"].choices = zone_choices()


class DateOverrideForm(forms.Form):
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.order_by("name"),
                                    to_field_name="slug", empty_label=None)
    day = forms.DateField(label=_("Date"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    kind = forms.ChoiceField(label=_("What happens"), choices=DateOverride.Kind.choices)
    start = _time_field(_("Opens"), required=False)
    end = _time_field(_("Closes"), required=False)
    note = forms.CharField(label=_("Note"), max_length=200, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].label_from_instance = lambda region: _region_name(region)


def _region_name(region: Region) -> str:
    return region_name(region.name)


class CannedResponseForm(forms.Form):
    """A title and a text per language; English is required, the others fall back to it."""

    def __init__(self, *args, response=None, **kwargs):
        super().__init__(*args, **kwargs)
        for code, _name in settings.LANGUAGES:
            english = code == settings.MODELTRANSLATION_DEFAULT_LANGUAGE
            title = build_localized_fieldname("title", code)
            body = build_localized_fieldname("body", code)
            self.fields[title] = forms.CharField(label=_("Title"), max_length=200, required=english)
            self.fields[body] = forms.CharField(label=_("Text"), required=english,
                                                widget=forms.Textarea(attrs={"rows": 4}))
            if response is not None:
                self.initial[title] = getattr(response, title) or ""
                self.initial[body] = getattr(response, body) or ""

    def languages(self):
        """(code, name in itself, title field, body field) per language, for the template."""
        return [(code, LANGUAGE_AUTONYMS.get(code, code), self[build_localized_fieldname("title", code)],
                 self[build_localized_fieldname("body", code)]) for code, _name in settings.LANGUAGES]

    def texts(self) -> dict[str, tuple[str, str]]:
        return {code: (self.cleaned_data[build_localized_fieldname("title", code)],
                       self.cleaned_data[build_localized_fieldname("body", code)])
                for code, _name in settings.LANGUAGES}


class ApiKeyForm(forms.Form):
    name = forms.CharField(label=_("Installation"), max_length=200,
                           help_text=_("Which installation or build will hold this key."))
    region = forms.ModelChoiceField(label=_("Region"), queryset=Region.objects.order_by("name"),
                                    to_field_name="slug", required=False,
                                    empty_label=_("The report's language decides"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["region"].label_from_instance = lambda region: _region_name(region)


class SkillsForm(forms.Form):
    languages = forms.MultipleChoiceField(label=_("Languages"), choices=Language.choices, required=False,
                                          widget=forms.CheckboxSelectMultiple)
    channels = forms.MultipleChoiceField(label=_("Channels"), choices=Channel.choices, required=False,
                                         widget=forms.CheckboxSelectMultiple,
                                         help_text=_("Phone: English and Swedish only."))
    phone_number = forms.CharField(label=_("Phone number"), max_length=32, required=False,
                                   help_text=_("Accepted calls ring this number; empty: the browser "
                                               "softphone in the console."))
    max_chats = forms.IntegerField(label=_("Chats at once"), min_value=1, max_value=20)
    max_calls = forms.IntegerField(label=_("Calls at once"), min_value=1, max_value=5)
    trained_extensions = forms.ModelMultipleChoiceField(
        label=_("Trained on"), required=False, widget=forms.CheckboxSelectMultiple,
        queryset=Extension.objects.filter(trained_specialist=True).order_by("name"),
        help_text=_("Extensions with the Trained Specialist add-on this agent may answer."))
