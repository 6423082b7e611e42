from functools import wraps

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.http import Http404
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from django_rq.urls import get_admin_urlpatterns, get_api_urlpatterns

from apps.accounts.forms import AdminSignInForm, SignInForm
from apps.accounts.selectors import is_manager, works_tickets
from apps.tickets.access import owner_of
from supportdesk.api import api

admin.site.login_form = AdminSignInForm
handler404 = "supportdesk.api_errors.not_found"


class FaviconView(RedirectView):
    """Browsers and crawlers ask for /favicon.ico whatever the page links: the desk's icon, not a 404."""

    permanent = False       # the icon may move (a hashed static name): no redirect cached for good

    def get_redirect_url(self, *args, **kwargs):
        return static("desk/favicon.svg")


class SignInView(auth_views.LoginView):
    """Agents land in the console; an owner's admins in their owner portal."""

    def get_default_redirect_url(self):
        if owner_of(self.request.user) is not None and not works_tickets(self.request.user):
            return "/owners/"
        return super().get_default_redirect_url()


def managers_only(view):
    """The job queues show jobs' arguments and can delete or requeue them: not for every staff member."""
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.user.is_authenticated and not is_manager(request.user):
            raise Http404("not here")
        return view(request, *args, **kwargs)   # signed out: the view's own login redirect
    return wrapper


django_rq_urls = (get_api_urlpatterns() + get_admin_urlpatterns(view_wrapper=managers_only), "django_rq")

urlpatterns = [
    path("", RedirectView.as_view(url="/console/", permanent=False)),
    path("favicon.ico", FaviconView.as_view(), name="favicon"),
    path("admin/", admin.site.urls),
    path("accounts/login/", SignInView.as_view(authentication_form=SignInForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
    path("reports/", include("apps.reports.urls")),
    path("email/", include("apps.mail.urls")),
    path("jira/", include("apps.jira_sync.urls")),
    path("owners/", include("apps.portal.urls")),
    path("voice/", include("apps.voice.urls")),
    path("console/outbox/", include("apps.outbox.urls")),
    path("console/", include("apps.console.urls")),
    path("console/", include("apps.chat.console_urls")),
    path("widget/", include("apps.chat.urls")),
    path("django-rq/", include(django_rq_urls)),
]
