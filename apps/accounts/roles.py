"""The desk's roles, kept as Django groups so permissions stay editable in the admin."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    AGENT = "Agent", _("Agent")
    SUPPORT_MANAGER = "User Support Manager", _("User Support Manager")
    OWNER_ADMIN = "Owner admin", _("Owner admin")


# Model permissions each role's group receives (app_label.codename). Agents change tickets in
# the console, through the services; in the admin they only view their own scope's rows.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    Role.AGENT: [
        "tickets.view_ticket", "tickets.add_message", "tickets.view_message", "tickets.view_contact",
        "tickets.view_cannedresponse", "owners.view_extension",
    ],
    Role.SUPPORT_MANAGER: [
        "tickets.view_ticket", "tickets.change_ticket", "tickets.add_message",
        "tickets.view_message", "tickets.view_contact", "tickets.change_contact",
        "tickets.view_ticketevent", "tickets.view_cannedresponse", "tickets.add_cannedresponse",
        "tickets.change_cannedresponse", "owners.view_extension", "owners.view_extensionowner",
        "owners.view_owneradmin", "owners.add_owneradmin", "owners.delete_owneradmin",
        "accounts.view_agentprofile", "accounts.change_agentprofile",
        "policy.view_region", "policy.change_region",
    ],
    Role.OWNER_ADMIN: ["tickets.view_ticket", "owners.view_extension"],
}
