from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from apps.feedback import services
from apps.feedback.models import ApiKey, FeedbackReport, hash_key


@admin.action(description=_("Revoke the selected keys"))
def revoke(modeladmin, request, queryset):
    for key in queryset:
        services.revoke_api_key(key=key)


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "region", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["region"]
    search_fields = ["name", "prefix"]
    fields = ["name", "region", "prefix", "created_at", "last_used_at", "revoked_at"]
    readonly_fields = ["prefix", "created_at", "last_used_at", "revoked_at"]
    actions = [revoke]

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # The raw key exists only in this message; the database keeps its hash.
        raw = obj.new_raw_key()
        obj.key_hash, obj.prefix = hash_key(raw), raw[:12]
        super().save_model(request, obj, form, change)
        messages.warning(request, _("The new key is %(key)s — copy it now, it is not shown again.") % {"key": raw})


@admin.register(FeedbackReport)
class FeedbackReportAdmin(admin.ModelAdmin):
    list_display = ["ticket", "product", "app_version", "language", "user_email", "api_key", "created_at"]
    list_filter = ["product", "language"]
    search_fields = ["ticket__reference", "user_email", "report_id"]
    raw_id_fields = ["ticket"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
