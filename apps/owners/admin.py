from django import forms
from django.contrib import admin

from apps.owners import services
from apps.owners.models import Extension, ExtensionOwner, OwnerAdmin, QuarterlyReport
from supportdesk.admin_mixins import ReadOnlyAdmin


@admin.register(ExtensionOwner)
class ExtensionOwnerAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "language"]
    prepopulated_fields = {"slug": ["name"]}


@admin.register(Extension)
class ExtensionAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "owner", "trained_specialist"]
    list_filter = ["owner", "trained_specialist"]
    prepopulated_fields = {"slug": ["name"]}


class OwnerAdminForm(forms.ModelForm):
    """Grants go through the seat service, so the admin refuses a third admin like the API does."""

    class Meta:
        model = OwnerAdmin
        fields = ["owner", "user"]

    def clean(self):
        cleaned = super().clean()
        owner = cleaned.get("owner")
        if owner and not self.instance.pk and services.free_seat(owner) is None:
            raise forms.ValidationError(services.seat_limit_message(owner))
        return cleaned


@admin.register(OwnerAdmin)
class OwnerAdminAdmin(admin.ModelAdmin):
    form = OwnerAdminForm
    list_display = ["user", "owner", "seat", "granted_at"]
    list_filter = ["owner"]

    def has_change_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        granted = services.grant_owner_admin(owner=obj.owner, user=obj.user)
        obj.pk, obj.seat, obj.granted_at = granted.pk, granted.seat, granted.granted_at

    def delete_model(self, request, obj):
        services.revoke_owner_admin(owner=obj.owner, user=obj.user)


@admin.register(QuarterlyReport)
class QuarterlyReportAdmin(ReadOnlyAdmin, admin.ModelAdmin):
    """Published by ``quarterly_reports`` and the schedule; shown here, never edited."""

    list_display = ["owner", "quarter", "language", "tickets", "published_at"]
    list_filter = ["owner", "quarter"]
