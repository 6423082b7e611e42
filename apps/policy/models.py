"""Regions: the business-hours calendars tickets are measured against."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Region(models.Model):
    slug = models.SlugField(_("slug"), unique=True)
    name = models.CharField(_("name"), max_length=100)
    tz_name = models.CharField(_("time zone"), max_length=64, help_text=_("IANA zone, e.g. Europe/Stockholm"))

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name
