from django.contrib import admin

from apps.outbox.models import OutboxItem
from supportdesk.admin_mixins import ReadOnlyAdmin


@admin.register(OutboxItem)
class OutboxItemAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Read-only: rows change only through delivery and the manager's retry (/console/outbox/)."""

    list_display = ("kind", "key", "status", "attempts", "next_attempt_at", "created_at")
    list_filter = ("status", "kind")
    search_fields = ("key",)
