"""Owners' Jira connections for the manager; secrets can be replaced, never read back."""

import requests
from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from jira.exceptions import JIRAError

from apps.jira_sync.client import client_for
from apps.jira_sync.models import JiraComment, JiraConnection, JiraLink, WebhookDelivery
from supportdesk.admin_mixins import ReadOnlyAdmin


class JiraConnectionForm(forms.ModelForm):
    token = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False,
                            help_text=JiraConnection._meta.get_field("token").help_text)
    webhook_secret = forms.CharField(widget=forms.PasswordInput(render_value=False), required=False)

    class Meta:
        model = JiraConnection
        fields = ["owner", "site_url", "project_key", "auth", "email", "token", "webhook_secret", "issue_types",
                  "priorities", "labels", "user_prefix", "integration_user"]

    def clean(self):
        cleaned = super().clean()
        for name in ("token", "webhook_secret"):       # left empty: keep the stored secret
            if not cleaned.get(name) and self.instance.pk:
                cleaned[name] = getattr(self.instance, name)
        return cleaned


@admin.register(JiraConnection)
class JiraConnectionAdmin(admin.ModelAdmin):
    form = JiraConnectionForm
    list_display = ["owner", "site_url", "project_key", "auth", "updated_at"]
    actions = ["test_connection"]

    @admin.action(description=gettext_lazy("Test connection"))
    def test_connection(self, request, queryset):
        """Sign in and read the project; the account found becomes the desk's own (its echoes are ignored)."""
        for connection in queryset:
            try:
                client = client_for(connection)
                account = client.myself()
                project = client.project(connection.project_key)
            except (JIRAError, requests.RequestException) as error:
                status = getattr(error, "status_code", None) or type(error).__name__
                self.message_user(request, _("%(owner)s: Jira refused (%(status)s).") % {
                    "owner": connection.owner, "status": status}, messages.ERROR)
                continue
            if not connection.integration_user:
                connection.integration_user = account.get("accountId") or account.get("name") or ""
                connection.save(update_fields=["integration_user", "updated_at"])
            self.message_user(request, _("%(owner)s: signed in as %(account)s; project %(project)s found.") % {
                "owner": connection.owner, "account": account.get("displayName", ""), "project": project.name},
                messages.SUCCESS)


@admin.register(JiraLink)
class JiraLinkAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["ticket", "owner", "state", "issue_key", "issue_status", "forwarded_at", "synced_at"]
    list_filter = ["state", "owner"]


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """What each owner's Jira sent, as received, and what the desk did with it."""

    list_display = ["received_at", "owner", "event", "outcome", "identifier"]
    list_filter = ["owner", "event"]


@admin.register(JiraComment)
class JiraCommentAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    list_display = ["link", "comment_id", "message", "posted_by_desk"]
