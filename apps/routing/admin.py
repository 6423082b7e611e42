from django.contrib import admin
from modeltranslation.admin import TranslationAdmin

from apps.routing.models import AgentState, Offer, PresenceHour, Queue
from supportdesk.admin_mixins import ReadOnlyAdmin


@admin.register(Queue)
class QueueAdmin(TranslationAdmin):
    list_display = ["name", "language", "kind"]
    list_filter = ["language", "kind"]


@admin.register(AgentState)
class AgentStateAdmin(admin.ModelAdmin):
    list_display = ["user", "presence", "last_seen_at", "last_assigned_at", "max_chats", "max_calls"]
    list_filter = ["presence"]
    filter_horizontal = ["trained_extensions"]
    readonly_fields = ["last_seen_at", "last_assigned_at"]


@admin.register(Offer)
class OfferAdmin(admin.ModelAdmin):
    list_display = ["ticket", "agent", "status", "offered_at", "expires_at"]
    list_filter = ["status"]
    raw_id_fields = ["ticket", "agent"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Offers are made and answered by routing, never edited by hand.
        return False


@admin.register(PresenceHour)
class PresenceHourAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Written each minute by the schedule for the staffing forecast; read here, never edited."""

    list_display = ["hour", "user", "minutes"]
    list_filter = ["hour"]
    date_hierarchy = "hour"

