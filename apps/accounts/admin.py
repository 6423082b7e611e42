from django.contrib import admin

from apps.accounts import services
from apps.accounts.models import AgentProfile, ApiToken


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "languages", "channels", "time_zone"]
    search_fields = ["user__username"]

    # Through the services, so the agent's open consoles follow the change without a reconnect.
    def save_model(self, request, obj, form, change):
        services.save_agent_profile(profile=obj)

    def delete_model(self, request, obj):
        services.remove_agent_profile(profile=obj)

    def delete_queryset(self, request, queryset):
        for profile in queryset:
            services.remove_agent_profile(profile=profile)


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["prefix", "user", "name", "created_at", "revoked_at"]
    readonly_fields = ["prefix", "key_hash", "created_at"]

    def has_add_permission(self, request):
        # Raw keys are shown once, by `manage.py create_api_token`.
        return False
