"""Two tickets merged: the survivor keeps the Jira issue (a ticket has one), or the merge is refused."""

from django.utils.translation import gettext as _

from apps.jira_sync.models import JiraLink
from apps.tickets.services import TicketError


def on_merging(sender, *, ticket, into, **kwargs) -> None:
    """``desk.signals.merging``: move ``ticket``'s Jira link to ``into``, inside the merge's transaction.

    Refused when both have an issue (the link is one per ticket, and two issues are two pieces of
    the owner's work), and while the merged ticket's forward is still under way: the job that
    creates the issue finds its link by that ticket.
    """
    links = {link.ticket_id: link for link in
             JiraLink.objects.select_for_update().filter(ticket_id__in=[ticket.pk, into.pk]).order_by("pk")}
    link = links.get(ticket.pk)
    if link is None:
        return
    if into.pk in links:
        other = links[into.pk]
        raise TicketError(_("Both tickets are forwarded to the owner's Jira (%(one)s and %(other)s); a ticket keeps "
                            "one Jira issue, so they cannot be merged.") % {
            "one": link.issue_key or ticket.reference, "other": other.issue_key or into.reference})
    if not link.issue_key and link.state in (JiraLink.State.WAITING, JiraLink.State.QUEUED):
        raise TicketError(_("%(reference)s is still being forwarded to the owner's Jira; merge it once its issue "
                            "exists.") % {"reference": ticket.reference})
    JiraLink.objects.filter(pk=link.pk).update(ticket=into)
