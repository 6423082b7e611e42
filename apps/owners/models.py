"""Extension owners, their extensions, and the owners' two administrative seats."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

# The policy's "2 administrative licenses" per owner.
ADMIN_SEATS_PER_OWNER = 2


class ExtensionOwner(models.Model):
    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), unique=True)

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
