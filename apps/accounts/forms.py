"""Sign-in forms of the console and the admin, throttled alike (apps.accounts.throttle)."""

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from apps.accounts import throttle


class ThrottledSignIn:
    """Refuses every password, right or wrong, while the account or the address is locked out."""

    throttled_message = _("Too many failed sign-ins. Try again in %(minutes)d minutes.")
    throttled = False

    def clean(self):
        username = self.cleaned_data.get("username") or ""
        address = self.request.META.get("REMOTE_ADDR", "") if self.request else ""
        if throttle.locked_out(username=username, address=address):
            self.throttled = True
            raise forms.ValidationError(self.throttled_message, code="throttled",
                                        params={"minutes": max(1, settings.LOGIN_LOCKOUT_SECONDS // 60)})
        try:
            cleaned = super().clean()
        except forms.ValidationError:
            throttle.record_failure(username=username, address=address)
            raise
        throttle.clear(username=username, address=address)
        return cleaned


class SignInForm(ThrottledSignIn, AuthenticationForm):
    pass


class AdminSignInForm(ThrottledSignIn, AdminAuthenticationForm):
    pass
