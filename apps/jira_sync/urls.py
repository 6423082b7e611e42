from django.urls import path

from apps.jira_sync.webhooks import jira_webhook

app_name = "jira_sync"
urlpatterns = [
    path("webhook/<slug:owner_slug>/", jira_webhook, name="webhook"),
]
