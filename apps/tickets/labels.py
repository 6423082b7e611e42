"""Words for the desk's codes in the active language: a channel, language, region, status, target…

Screens and exports show these, never a raw code. The choices the domain below ``tickets``
defines are known here; apps above it (``sla``'s target kinds, ``routing``'s presence) add
theirs with ``register`` in their ``AppConfig.ready``, so every edge (console, reports,
portal) asks this one module and ``tickets`` imports no app above it.
"""

from django.db.models import TextChoices
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from apps.owners.models import Extension
from apps.policy.languages import Channel, Language
from apps.policy.models import Region
from apps.tickets.models import Ticket

# A region's name is the administrator's data; the default regions' names are translated.
DEFAULT_REGION_NAMES = (_("United States"), _("Europe"), _("Malaysia"), _("Japan"))

CHOICES: dict[str, type[TextChoices]] = {
    "channel": Channel, "language": Language, "status": Ticket.Status, "category": Ticket.Category,
    "scope": Ticket.Scope,
}


def register(dimension: str, choices: type[TextChoices]) -> None:
    """An app above ``tickets`` names its codes (``labels.register("target", SlaTarget.Kind)``)."""
    CHOICES[dimension] = choices


def region_name(name: str) -> str:
    return gettext(name) if name else ""


def labels(dimension: str, codes=()) -> dict[str, str]:
    """``{code: word}`` for ``dimension``; regions and extensions only for ``codes`` (rows in the database)."""
    if dimension == "region":
        return {slug: region_name(name) for slug, name in
                Region.objects.filter(slug__in=list(codes)).values_list("slug", "name")}
    if dimension == "extension":
        return dict(Extension.objects.filter(slug__in=list(codes)).values_list("slug", "name"))
    return {code: str(label) for code, label in CHOICES[dimension].choices}


def label(dimension: str, code: str | None) -> str:
    """One code's word; an unknown code is shown as it is (an old row), an empty one as "—"."""
    if not code:
        return "—"
    return labels(dimension, [code]).get(code, code)
