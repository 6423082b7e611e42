from django.contrib import admin

from apps.console.models import SavedSearch


@admin.register(SavedSearch)
class SavedSearchAdmin(admin.ModelAdmin):
    """An agent's saved searches are theirs (as on the search page): staff see their own, superusers all."""

    list_display = ["name", "user", "params", "created_at"]
    search_fields = ["name"]
    readonly_fields = ["user", "created_at"]

    def get_queryset(self, request):
        searches = super().get_queryset(request).select_related("user")
        return searches if request.user.is_superuser else searches.filter(user=request.user)

    def has_add_permission(self, request):
        return False            # saved from the search page, where the search is
