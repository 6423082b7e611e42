from django.urls import path

from apps.mail import webhooks

app_name = "mail"
urlpatterns = [
    path("inbound", webhooks.inbound_email, name="inbound"),
]
