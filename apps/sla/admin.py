from django.contrib import admin

from apps.sla.models import SlaTarget


@admin.register(SlaTarget)
class SlaTargetAdmin(admin.ModelAdmin):
    list_display = ["ticket", "kind", "clock", "due_at", "met_at", "breached_at"]
    list_filter = ["kind", "clock"]
    search_fields = ["ticket__reference"]
    raw_id_fields = ["ticket"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        # Deadlines come from the policy; edit the policy, not the target.
        return False
