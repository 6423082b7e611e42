from django.urls import path

from apps.reports import views

app_name = "reports"
urlpatterns = [path("sla/", views.sla_dashboard, name="sla_dashboard")]
