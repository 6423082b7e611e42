from django.contrib import admin

from apps.accounts.models import AgentProfile, ApiToken


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "languages", "channels", "time_zone"]
    search_fields = ["user__username"]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at"]

    def has_add_permission(self, request):
        # Raw keys are shown once, by `manage.py create_api_token`.
        return False
