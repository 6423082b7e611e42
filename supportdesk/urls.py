from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView

from apps.accounts.forms import AdminSignInForm, SignInForm
from supportdesk.api import api

admin.site.login_form = AdminSignInForm

urlpatterns = [
    path("", RedirectView.as_view(url="/console/", permanent=False)),
    path("admin/", admin.site.urls),
    path("accounts/login/", auth_views.LoginView.as_view(authentication_form=SignInForm), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/", api.urls),
    path("reports/", include("apps.reports.urls")),
    path("email/", include("apps.mail.urls")),
    path("console/outbox/", include("apps.outbox.urls")),
    path("console/", include("apps.console.urls")),
    path("widget/", include("apps.chat.urls")),
    path("django-rq/", include("django_rq.urls")),
]
