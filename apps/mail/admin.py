from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from apps.mail import filing
from apps.mail.models import ImapCursor, InboundEmail, MailReference, MailThread, OutboundEmail


class NeedsReviewFilter(admin.SimpleListFilter):
    """The review list: automatic mail (bounces, auto-replies, lists) that matched no ticket."""

    title = _("review list")
    parameter_name = "review"

    def lookups(self, request, model_admin):
        return [("open", _("Waiting for review")), ("done", _("Reviewed"))]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(outcome=InboundEmail.Outcome.REVIEW, reviewed_at__isnull=True)
        if self.value() == "done":
            return queryset.filter(outcome=InboundEmail.Outcome.REVIEW, reviewed_at__isnull=False)
        return queryset


@admin.action(description=_("Mark as reviewed"))
def mark_reviewed(modeladmin, request, queryset):
    for inbound in queryset:
        filing.mark_reviewed(inbound=inbound)


@admin.register(InboundEmail)
class InboundEmailAdmin(admin.ModelAdmin):
    list_display = ["received_at", "source", "outcome", "from_address", "subject", "mailbox", "ticket"]
    list_filter = [NeedsReviewFilter, "outcome", "source"]
    search_fields = ["message_id", "subject", "from_address", "ticket__reference"]
    date_hierarchy = "received_at"
    exclude = ["raw"]
    readonly_fields = [field.name for field in InboundEmail._meta.fields if field.name != "raw"]
    actions = [mark_reviewed]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("raw").select_related("ticket")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(OutboundEmail)
class OutboundEmailAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "status", "to_address", "subject", "ticket", "attempts"]
    list_filter = ["kind", "status"]
    search_fields = ["to_address", "subject", "message_id", "ticket__reference"]
    raw_id_fields = ["ticket", "ticket_message"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(MailThread)
class MailThreadAdmin(admin.ModelAdmin):
    list_display = ["ticket", "address", "mailbox", "normalised_subject", "last_inbound_at"]
    search_fields = ["address", "normalised_subject", "ticket__reference"]
    raw_id_fields = ["ticket"]


@admin.register(MailReference)
class MailReferenceAdmin(admin.ModelAdmin):
    list_display = ["message_id", "direction", "ticket", "created_at"]
    search_fields = ["message_id", "ticket__reference"]
    raw_id_fields = ["ticket"]


@admin.register(ImapCursor)
class ImapCursorAdmin(admin.ModelAdmin):
    list_display = ["account", "uidvalidity", "last_uid", "updated_at"]
