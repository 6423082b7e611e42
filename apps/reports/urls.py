from django.urls import path

from apps.reports import views

app_name = "reports"
urlpatterns = [
    path("sla/", views.sla_dashboard, name="sla_dashboard"),
    path("staffing/", views.staffing, name="staffing"),
    path("staffing/forecast.csv", views.staffing_csv, name="staffing_csv"),
]
