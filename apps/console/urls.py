from django.urls import path

from apps.console import settings_urls, views

app_name = "console"
urlpatterns = [
    path("", views.console_home, name="home"),
    path("presence/", views.post_presence, name="presence"),
    path("profile/", views.profile_view, name="profile"),
    path("profile/language/", views.post_language, name="language"),
    path("manager/", views.manager_view, name="manager"),
    path("bulk/", views.post_bulk, name="bulk"),
    path("search/", views.search, name="search"),
    path("search/tickets.csv", views.search_export, name="search_export"),
    path("search/saved/", views.post_saved_search, name="save_search"),
    path("search/saved/<int:saved_id>/delete/", views.delete_saved_search, name="delete_saved_search"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="contact"),
    path("tickets/<str:reference>/", views.ticket_detail, name="ticket"),
    path("tickets/<str:reference>/attachments/<int:attachment_id>/", views.download_attachment, name="attachment"),
    path("tickets/<str:reference>/reply/", views.post_reply, name="reply"),
    path("tickets/<str:reference>/status/", views.post_status, name="status"),
    path("tickets/<str:reference>/triage/", views.post_triage, name="triage"),
    path("tickets/<str:reference>/take/", views.post_take, name="take"),
    path("tickets/<str:reference>/transfer/", views.post_transfer, name="transfer"),
    path("tickets/<str:reference>/merge/", views.post_merge, name="merge"),
]
urlpatterns += settings_urls.urlpatterns
