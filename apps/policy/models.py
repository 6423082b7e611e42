"""The support policy as data an administrator edits.

Regions carry the business-hours calendars (weekly periods, national holidays,
date-specific overrides); channel rules say which languages a channel serves and
whether it follows regional hours or the desk-wide 24x5 window; SLA policies hold
the targets. ``apps.policy.services`` turns these rows into business-time calendars.
"""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.policy.languages import Channel, Language


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class Region(models.Model):
    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    tz_name = models.CharField(_("time zone"), max_length=64, help_text=_("IANA zone, e.g. Europe/Stockholm"))
    holiday_country = models.CharField(_("holiday country"), max_length=8, blank=True,
                                       help_text=_("ISO code for the holidays package, e.g. SE."))
    holiday_subdivision = models.CharField(_("holiday subdivision"), max_length=16, blank=True)
    holiday_categories = models.JSONField(_("holiday categories"), default=list, blank=True,
                                          help_text=_('e.g. ["public", "de_facto"]'))

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class OpeningPeriod(models.Model):
    """A weekly opening period; an end at or before the start runs past midnight."""

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="periods",
                               verbose_name=_("region"))
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    start = models.TimeField(_("opens"))
    end = models.TimeField(_("closes"), help_text=_("00:00 means midnight at the end of the day."))

    class Meta:
        verbose_name = _("opening period")
        verbose_name_plural = _("opening periods")
        ordering = ["region", "weekday", "start"]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"

    def clean(self):
        from apps.policy.businesstime import CalendarError, Period, validate_periods
        from apps.policy.services import span_minutes

        if self.region_id is None or self.start is None or self.end is None:
            return
        siblings = self.region.periods.exclude(pk=self.pk)
        periods = [Period(p.weekday, *span_minutes(p.start, p.end)) for p in siblings]
        periods.append(Period(self.weekday, *span_minutes(self.start, self.end)))
        try:
            validate_periods(periods)
        except CalendarError as error:
            raise ValidationError(str(error)) from error


class DateOverride(models.Model):
    """A date that differs from the weekly pattern: an extra closure, special hours or a reopened holiday."""

    class Kind(models.TextChoices):
        CLOSED = "closed", _("Closed (event)")
        SPECIAL_HOURS = "special", _("Special hours")
        REOPEN_HOLIDAY = "reopen", _("Open despite the holiday")

    region = models.ForeignKey(Region, on_delete=models.CASCADE, related_name="overrides",
                               verbose_name=_("region"))
    date = models.DateField(_("date"))
    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    start = models.TimeField(_("opens"), null=True, blank=True)
    end = models.TimeField(_("closes"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("date override")
        verbose_name_plural = _("date overrides")
        ordering = ["region", "date", "start"]

    def __str__(self) -> str:
        return f"{self.region} {self.date} {self.get_kind_display()}"

    def clean(self):
        if self.kind == self.Kind.SPECIAL_HOURS and (self.start is None or self.end is None):
            raise ValidationError(_("Special hours need an opening and a closing time."))
        if self.kind != self.Kind.SPECIAL_HOURS and (self.start or self.end):
            raise ValidationError(_("Only special hours have times."))


class EntryPoint(models.Model):
    """A phone number, mailbox or widget installation; each belongs to a region."""

    class Kind(models.TextChoices):
        PHONE = "phone", _("Phone number")
        MAILBOX = "mailbox", _("Mailbox address")
        WIDGET = "widget", _("Widget installation")

    kind = models.CharField(_("kind"), max_length=8, choices=Kind.choices)
    address = models.CharField(_("address"), max_length=254,
                               help_text=_("E.164 number, email address or widget key."))
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="entry_points",
                               verbose_name=_("region"))
    default_language = models.CharField(_("default language"), max_length=8, choices=Language.choices,
                                        blank=True)

    class Meta:
        verbose_name = _("entry point")
        verbose_name_plural = _("entry points")
        constraints = [models.UniqueConstraint(fields=["kind", "address"], name="unique_entry_point")]

    def __str__(self) -> str:
        return f"{self.address} → {self.region}"


class LanguageRegion(models.Model):
    """The region a ticket falls back to when neither entry point nor contact names one."""

    language = models.CharField(_("language"), max_length=8, choices=Language.choices, unique=True)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))

    class Meta:
        verbose_name = _("default region per language")
        verbose_name_plural = _("default regions per language")

    def __str__(self) -> str:
        return f"{self.get_language_display()} → {self.region}"


class ServiceWindow(models.Model):
    """The desk-wide weekly window of chat and email (24x5 by default).

    It opens at a local time in one zone and closes at a local time in another,
    so the Friday close follows New York's daylight saving, not Kuala Lumpur's.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    open_weekday = models.PositiveSmallIntegerField(_("opens on"), choices=Weekday.choices)
    open_time = models.TimeField(_("opens at"))
    open_tz = models.CharField(_("opening time zone"), max_length=64)
    close_weekday = models.PositiveSmallIntegerField(_("closes on"), choices=Weekday.choices)
    close_time = models.TimeField(_("closes at"))
    close_tz = models.CharField(_("closing time zone"), max_length=64)

    class Meta:
        verbose_name = _("service window")
        verbose_name_plural = _("service windows")

    def __str__(self) -> str:
        return self.name


class ChannelRule(models.Model):
    """Which languages a channel serves and which hours it keeps."""

    class Hours(models.TextChoices):
        REGION = "region", _("The region's business hours and holidays")
        WINDOW = "window", _("The desk-wide service window")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, unique=True)
    languages = models.JSONField(_("languages"), default=list)
    hours = models.CharField(_("hours"), max_length=8, choices=Hours.choices)
    window = models.ForeignKey(ServiceWindow, on_delete=models.PROTECT, null=True, blank=True,
                               verbose_name=_("service window"))

    class Meta:
        verbose_name = _("channel rule")
        verbose_name_plural = _("channel rules")

    def __str__(self) -> str:
        return self.get_channel_display()

    def clean(self):
        unknown = set(self.languages or []) - set(Language.values)
        if unknown:
            raise ValidationError(_("Unknown languages: %(codes)s") % {"codes": ", ".join(sorted(unknown))})
        if self.hours == self.Hours.WINDOW and self.window_id is None:
            raise ValidationError(_("Choose the service window this channel keeps."))


class SlaPolicy(models.Model):
    """Targets per channel: the first response, and the acknowledgement in business hours."""

    class Clock(models.TextChoices):
        WALL = "wall", _("Wall-clock time")
        WINDOW = "window", _("Time inside the service window")
        REGION = "region", _("The region's business hours")

    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, unique=True)
    response_seconds = models.PositiveIntegerField(_("first response target (seconds)"))
    response_clock = models.CharField(_("first response clock"), max_length=8, choices=Clock.choices)
    acknowledge_seconds = models.PositiveIntegerField(_("acknowledgement target (business seconds)"),
                                                      default=12 * 3600)
    warning_share = models.FloatField(_("warning share"), default=0.75,
                                      help_text=_("Warn when this share of the target has elapsed."))

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")

    def __str__(self) -> str:
        return self.get_channel_display()

    def clean(self):
        if not 0 < self.warning_share < 1:
            raise ValidationError(_("The warning share lies between 0 and 1."))


class DemoMode(models.Model):
    """One row: whether chat and phone answer open whatever the hours, so the desk can be tried any day.

    Only ``services.availability`` reads it; SLA clocks keep counting the calendars and
    the service window, so a demo's deadlines are the ones a real desk would have.
    """

    SINGLETON = 1

    id = models.PositiveSmallIntegerField(primary_key=True, default=SINGLETON, editable=False)
    always_open = models.BooleanField(
        _("chat and phone always open"), default=False,
        help_text=_("For demonstrations: chat and phone are offered whatever the hours and holidays "
                    "(languages still apply). SLA clocks still count the business hours."))

    class Meta:
        verbose_name = _("demo mode")
        verbose_name_plural = _("demo mode")
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="demo_mode_single_row")]

    def __str__(self) -> str:
        return str(_("Demo mode: on") if self.always_open else _("Demo mode: off"))
