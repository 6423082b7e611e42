"""The ticket page's customer context: the person's other tickets and the merge form, in their own template."""

from django import template

from apps.tickets import access, selectors

register = template.Library()


@register.inclusion_tag("console/_context_panel.html", takes_context=True)
def context_panel(context, ticket):
    """What else the person asked (the tickets the viewer may open, by the access rule) and where this one may merge."""
    user = context["request"].user
    others = [other for other in selectors.contact_tickets(contact=ticket.contact, user=user) if other.pk != ticket.pk]
    targets = [] if ticket.merged_into_id else list(selectors.merge_targets(ticket, user=user))
    return {"ticket": ticket, "others": others, "merge_targets": targets,
            # A reader of the merged ticket may not be allowed where it went: no link that would answer 404.
            "survivor_openable": ticket.merged_into is not None and access.can_act_on(user, ticket.merged_into),
            "csrf_token": context.get("csrf_token"), "request": context["request"]}
