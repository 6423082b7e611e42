"""What the console keeps of its own: an agent's saved ticket searches."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class SavedSearch(models.Model):
    """A search an agent named to run again: its words and filters as the search page's query string.

    Kept as the query string the page reads, so a saved search runs exactly as the link it
    was saved from, and a filter added to the page later needs no migration here.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_searches",
                             verbose_name=_("user"))
    name = models.CharField(_("name"), max_length=100)
    params = models.CharField(_("search"), max_length=2000, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        verbose_name = _("saved search")
        verbose_name_plural = _("saved searches")
        ordering = ["name", "pk"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_search_unique_name_per_user")]

    def __str__(self) -> str:
        return self.name
