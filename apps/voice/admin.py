from django.contrib import admin

from apps.desk.admin import TicketScopedAdmin
from apps.voice.models import Call
from supportdesk.admin_mixins import ReadOnlyAdmin


@admin.register(Call)
class CallAdmin(ReadOnlyAdmin, TicketScopedAdmin):
    """Calls as Twilio reported them; an agent sees the calls of tickets they may see, a manager every call."""

    ticket_path = "ticket__"
    list_display = ("sid", "from_number", "to_number", "language", "state", "twilio_status", "ticket", "created_at")
    list_filter = ("state", "language")
    search_fields = ("sid", "from_number", "to_number", "ticket__reference")
