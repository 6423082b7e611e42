"""Tickets the console's list tests set up, made as the desk makes them (through the actions)."""

from apps.desk import actions
from apps.tickets.models import Contact, Ticket


def open_email_ticket(*, ref: str, subject: str, received_at, language: str = "sv", **changes) -> Ticket:
    """An email ticket from its own contact, then ``changes`` (assignee, status…) written straight to its row."""
    contact = Contact.objects.create(name="N", email=f"{ref}@example.com", language=language)
    ticket = actions.open_ticket(channel="email", contact=contact, subject=subject, body="Hej.",
                                 external_ref=f"<{ref}>", received_at=received_at)
    if changes:
        Ticket.objects.filter(pk=ticket.pk).update(**changes)
    return Ticket.objects.get(pk=ticket.pk)
