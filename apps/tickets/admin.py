from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from modeltranslation.admin import TranslationAdmin

from apps.tickets import services
from apps.tickets.models import (
    Attachment,
    CannedResponse,
    Contact,
    Message,
    ReceiptTemplate,
    Ticket,
    TicketEvent,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class MessageInline(ReadOnlyInline):
    model = Message
    fields = ["created_at", "direction", "automatic", "channel", "body_text", "external_id"]


class EventInline(ReadOnlyInline):
    model = TicketEvent
    fields = ["created_at", "kind", "actor", "actor_label", "data"]


def _status_action(status: str):
    def action(modeladmin, request, queryset):
        for ticket in queryset:
            try:
                services.change_status(ticket=ticket, to=status, actor=services.Actor(user=request.user))
            except services.InvalidTransition as error:
                modeladmin.message_user(request, f"{ticket.reference}: {error}", messages.ERROR)
    action.__name__ = f"mark_{status}"
    action.short_description = _("Change status to: %(status)s") % {"status": Ticket.Status(status).label}
    return action


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    list_display = ["reference", "subject", "channel", "language", "region", "status", "scope",
                    "received_at"]
    list_filter = ["channel", "language", "status", "scope", "region"]
    search_fields = ["reference", "subject", "contact__email", "contact__name", "external_ref"]
    date_hierarchy = "received_at"
    # Status and clocks change only through the ticket services (actions below).
    readonly_fields = ["reference", "channel", "external_ref", "status", "received_at",
                       "acknowledged_at", "first_response_at", "resolved_at", "created_at",
                       "updated_at"]
    raw_id_fields = ["contact", "assignee"]
    inlines = [MessageInline, EventInline]
    actions = [_status_action(status) for status in Ticket.Status.values]

    def has_add_permission(self, request):
        return False


@admin.register(Contact)
class ContactAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "phone", "language", "region"]
    search_fields = ["name", "email", "phone"]
    list_filter = ["language", "region"]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["ticket", "direction", "channel", "created_at", "external_id"]
    list_filter = ["direction", "channel"]
    search_fields = ["ticket__reference", "external_id", "body_text"]
    raw_id_fields = ["ticket", "author_user", "author_contact"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):
    list_display = ["filename", "content_type", "size", "sha256", "message"]
    search_fields = ["filename", "sha256"]
    raw_id_fields = ["message"]

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(TicketEvent)
class TicketEventAdmin(admin.ModelAdmin):
    list_display = ["ticket", "kind", "actor", "actor_label", "created_at"]
    list_filter = ["kind"]
    search_fields = ["ticket__reference"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(CannedResponse)
class CannedResponseAdmin(TranslationAdmin):
    list_display = ["title"]
    search_fields = ["title", "body"]


@admin.register(ReceiptTemplate)
class ReceiptTemplateAdmin(TranslationAdmin):
    list_display = ["channel", "subject"]
