from django.urls import path

from apps.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("tickets/<str:reference>/", views.ticket_detail, name="ticket"),
    path("tickets/<str:reference>/not-ours/", views.not_ours, name="not_ours"),
    path("tickets/<str:reference>/own-system/", views.answer_elsewhere, name="answer_elsewhere"),
    path("reports/", views.report_list, name="reports"),
    path("reports/<str:quarter>.<str:kind>", views.report_file, name="report_file"),
]
