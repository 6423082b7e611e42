"""The chat panel's own console URLs, mounted under /console/ beside the console's (which imports no chat code)."""

from django.urls import path

from apps.chat import views

app_name = "chat_console"
urlpatterns = [
    path("tickets/<str:reference>/chat/attachments/", views.agent_attachment, name="attachment"),
]
