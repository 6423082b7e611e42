"""``/console/settings/…``: the manager's settings pages (``console:settings``, ``console:settings_*``)."""

from django.urls import path

from apps.console import settings_views as views

urlpatterns = [
    path("settings/", views.settings_home, name="settings"),
    path("settings/hours/", views.settings_hours, name="settings_hours"),
    path("settings/hours/<slug:slug>/", views.settings_region_hours, name="settings_region_hours"),
    path("settings/windows/<int:window_id>/", views.settings_window, name="settings_window"),
    path("settings/dates/", views.settings_dates, name="settings_dates"),
    path("settings/dates/<int:override_id>/", views.settings_date, name="settings_date"),
    path("settings/dates/<int:override_id>/delete/", views.settings_date_delete, name="settings_date_delete"),
    path("settings/canned/", views.settings_canned, name="settings_canned"),
    path("settings/canned/new/", views.settings_canned_new, name="settings_canned_new"),
    path("settings/canned/<int:response_id>/", views.settings_canned_edit, name="settings_canned_edit"),
    path("settings/canned/<int:response_id>/delete/", views.settings_canned_delete,
         name="settings_canned_delete"),
    path("settings/keys/", views.settings_keys, name="settings_keys"),
    path("settings/keys/<int:key_id>/revoke/", views.settings_key_revoke, name="settings_key_revoke"),
    path("settings/agents/", views.settings_agents, name="settings_agents"),
    path("settings/agents/<int:user_id>/", views.settings_agent, name="settings_agent"),
]
