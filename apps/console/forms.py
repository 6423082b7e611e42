"""The agent's own profile form (display name, signature, zone, language, notifications)."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from apps.accounts.preferences import LANGUAGE_AUTONYMS, available_time_zones, zone_label


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
