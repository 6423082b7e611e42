"""Extension owners, their extensions, and the owners' two administrative seats."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from apps.policy.languages import Language

# The policy's "2 administrative licenses" per owner.
ADMIN_SEATS_PER_OWNER = 2


class ExtensionOwner(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    language = models.CharField(_("language"), max_length=8, choices=Language.choices, default=Language.ENGLISH,
                                help_text=_("The language of the owner's quarterly reports."))

    class Meta:
        verbose_name = _("extension owner")
        verbose_name_plural = _("extension owners")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Extension(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)
    owner = models.ForeignKey(ExtensionOwner, on_delete=models.PROTECT, related_name="extensions",
                              verbose_name=_("owner"))
    trained_specialist = models.BooleanField(
        _("Trained Specialist add-on"), default=False,
        help_text=_("Trained agents answer functionality questions instead of forwarding them."),
    )

    class Meta:
        verbose_name = _("extension")
        verbose_name_plural = _("extensions")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class OwnerAdmin(models.Model):
    """One of an owner's administrative seats.

    The seat number is constrained to 1..2 and unique per owner, so the database
    itself refuses a third admin even when two requests race.
    """

    owner = models.ForeignKey(ExtensionOwner, on_delete=models.CASCADE, related_name="admins",
                              verbose_name=_("owner"))
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                                related_name="owner_admin", verbose_name=_("user"))
    seat = models.PositiveSmallIntegerField(_("seat"))
    granted_at = models.DateTimeField(_("granted at"), auto_now_add=True)

    class Meta:
        verbose_name = _("owner admin")
        verbose_name_plural = _("owner admins")
        constraints = [
            models.UniqueConstraint(fields=["owner", "seat"], name="one_admin_per_seat"),
            models.CheckConstraint(
                condition=models.Q(seat__gte=1, seat__lte=ADMIN_SEATS_PER_OWNER),
                name="owner_admin_seat_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.owner})"


def report_path(report: "QuarterlyReport", filename: str) -> str:
    return f"reports/{report.owner.slug}/{filename}"


class QuarterlyReport(models.Model):
    """An owner's quarterly report as published: the same figures as HTML, PDF and CSV.

    Written by ``apps.reports`` (the ``quarterly_reports`` command and the schedule); read in the
    owner portal by the owner's admins only.
    """

    owner = models.ForeignKey(ExtensionOwner, on_delete=models.CASCADE, related_name="reports",
                              verbose_name=_("owner"))
    quarter = models.CharField(_("quarter"), max_length=7, help_text=_("e.g. 2026Q3"))
    language = models.CharField(_("language"), max_length=8, choices=Language.choices)
    tickets = models.PositiveIntegerField(_("tickets"))
    html = models.FileField(_("HTML"), upload_to=report_path)
    pdf = models.FileField(_("PDF"), upload_to=report_path, blank=True)
    csv = models.FileField(_("CSV"), upload_to=report_path)
    published_at = models.DateTimeField(_("published at"))

    class Meta:
        verbose_name = _("quarterly report")
        verbose_name_plural = _("quarterly reports")
        ordering = ["-quarter"]
        constraints = [models.UniqueConstraint(fields=["owner", "quarter"], name="one_report_per_owner_quarter")]

    def __str__(self) -> str:
        return f"{self.owner} {self.quarter}"
