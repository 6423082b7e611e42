"""What the desk tells a user by itself, in the ticket's language."""

from django.utils import translation
from django.utils.translation import gettext as _


def forwarded_to_owner(ticket) -> str:
    extension = ticket.extension
    with translation.override(ticket.language):
        return _("Your request %(reference)s is about %(extension)s, an extension made by %(owner)s. "
                 "%(owner)s will contact you about it.") % {
            "reference": ticket.reference, "extension": extension.name, "owner": extension.owner.name}


def signed_by_owner(ticket, *, body: str, owner_name: str) -> str:
    """An owner's answer from Jira, as the user reads it: the words, then who wrote them."""
    with translation.override(ticket.language):
        signature = _("%(owner)s, the maker of %(extension)s") % {
            "owner": owner_name, "extension": ticket.extension.name if ticket.extension else owner_name}
    return f"{body.strip()}\n\n— {signature}"
