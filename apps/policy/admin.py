"""Policy administration; every edit that moves deadlines queues a recomputation."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from apps.policy.businesstime import CalendarError, Period, holiday_dates, validate_periods
from apps.policy.models import (
    ChannelRule,
    DateOverride,
    DemoMode,
    EntryPoint,
    LanguageRegion,
    OpeningPeriod,
    Region,
    ServiceWindow,
    SlaPolicy,
)
from apps.policy.services import demo_mode_on, region_spec, span_minutes
from apps.policy.signals import hours_changed


class OpeningPeriodFormSet(forms.models.BaseInlineFormSet):
    """Refuse overlapping periods (also across midnight) before they reach a calendar."""

    def clean(self):
        super().clean()
        periods = [
            Period(form.cleaned_data["weekday"], *span_minutes(form.cleaned_data["start"], form.cleaned_data["end"]))
            for form in self.forms
            if form.cleaned_data and not form.cleaned_data.get("DELETE")
        ]
        try:
            validate_periods(periods)
        except CalendarError as error:
            raise forms.ValidationError(str(error)) from error


class OpeningPeriodInline(admin.TabularInline):
    model = OpeningPeriod
    formset = OpeningPeriodFormSet
    extra = 0


class DateOverrideInline(admin.TabularInline):
    model = DateOverride
    extra = 0


class RecomputeOnSave:
    """Queue the recomputation of running SLA targets after a policy edit commits."""

    def recompute_region_id(self, obj):
        return None

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        hours_changed.send(sender=self.__class__, region_id=self.recompute_region_id(obj))

    def delete_model(self, request, obj):
        region_id = self.recompute_region_id(obj)
        super().delete_model(request, obj)
        hours_changed.send(sender=self.__class__, region_id=region_id)


class DemoModeNotice:
    """On the pages of the hours, say when the demo switch overrides them for chat and phone."""

    def _demo_notice(self, request):
        if demo_mode_on():
            link = reverse("admin:policy_demomode_change", args=[DemoMode.SINGLETON])
            messages.warning(request, format_html(
                '{} <a href="{}">{}</a>',
                _("Demo mode is on: chat and phone are offered whatever these hours say. "
                  "SLA clocks still count them."), link, _("Turn demo mode off")))

    def changelist_view(self, request, extra_context=None):
        self._demo_notice(request)
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "GET":
            self._demo_notice(request)
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(Region)
class RegionAdmin(DemoModeNotice, RecomputeOnSave, admin.ModelAdmin):
    list_display = ["slug", "name", "tz_name", "holiday_country", "holiday_subdivision"]
    inlines = [OpeningPeriodInline, DateOverrideInline]
    readonly_fields = ["upcoming_holidays"]

    @admin.display(description=_("Holidays this year and next"))
    def upcoming_holidays(self, obj):
        """Show what the holidays package closes, so nobody trusts a feed blindly (zammad#390)."""
        if not obj.pk or not obj.holiday_country:
            return "—"
        spec = region_spec(obj)
        year = timezone.now().year
        try:
            days = {**holiday_dates(spec.holidays, year), **holiday_dates(spec.holidays, year + 1)}
        except CalendarError as error:
            return str(error)
        rows = ((day.isoformat(), name) for day, name in sorted(days.items()))
        return format_html_join(mark_safe("<br>"), "{} {}", rows)

    def recompute_region_id(self, obj):
        return obj.pk

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        hours_changed.send(sender=self.__class__, region_id=form.instance.pk)


@admin.register(OpeningPeriod)
class OpeningPeriodAdmin(RecomputeOnSave, admin.ModelAdmin):
    """Periods are usually edited inline on their region; this list shows them all at once."""

    list_display = ["region", "weekday", "start", "end"]
    list_filter = ["region", "weekday"]

    def recompute_region_id(self, obj):
        return obj.region_id


@admin.register(DateOverride)
class DateOverrideAdmin(RecomputeOnSave, admin.ModelAdmin):
    list_display = ["region", "date", "kind", "start", "end", "note"]
    list_filter = ["region", "kind"]
    date_hierarchy = "date"

    def recompute_region_id(self, obj):
        return obj.region_id


@admin.register(EntryPoint)
class EntryPointAdmin(admin.ModelAdmin):
    list_display = ["address", "kind", "region", "default_language"]
    list_filter = ["kind", "region"]


@admin.register(LanguageRegion)
class LanguageRegionAdmin(admin.ModelAdmin):
    list_display = ["language", "region"]


@admin.register(ServiceWindow)
class ServiceWindowAdmin(DemoModeNotice, RecomputeOnSave, admin.ModelAdmin):
    list_display = ["name", "open_weekday", "open_time", "open_tz", "close_weekday", "close_time", "close_tz"]


@admin.register(ChannelRule)
class ChannelRuleAdmin(DemoModeNotice, RecomputeOnSave, admin.ModelAdmin):
    list_display = ["channel", "languages", "hours", "window"]


@admin.register(SlaPolicy)
class SlaPolicyAdmin(RecomputeOnSave, admin.ModelAdmin):
    list_display = ["channel", "response_seconds", "response_clock", "acknowledge_seconds", "warning_share"]


@admin.register(DemoMode)
class DemoModeAdmin(admin.ModelAdmin):
    """The one switch row: seed_demo turns it on, ``seed_demo --real-hours`` and this page turn it off."""

    list_display = ["__str__", "always_open"]

    def has_add_permission(self, request):
        return not DemoMode.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False
