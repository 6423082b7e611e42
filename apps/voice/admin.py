from django.contrib import admin

from apps.desk.admin import TicketScopedAdmin
from apps.voice.models import Call, CallStep
from supportdesk.admin_mixins import ReadOnlyAdmin


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin, TicketScopedAdmin):
    """Calls as Twilio reported them; an agent sees the calls of tickets they may see, a manager every call."""

    ticket_path = "ticket__"
    list_display = ("sid", "from_number", "to_number", "language", "state", "twilio_status", "ticket", "created_at")
    list_filter = ("state", "language")
    search_fields = ("sid", "from_number", "to_number", "ticket__reference")


@admin.register(CallStep)
class CallStepAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Webhooks as they arrived and what the desk answered; a step the worker could not apply shows its error."""

    list_display = ("received_at", "sid", "step", "decision", "applied_at", "attempts")
    list_filter = ("step", "decision")
    search_fields = ("sid",)
