from django.contrib import admin

from apps.policy.models import Region


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "tz_name"]
