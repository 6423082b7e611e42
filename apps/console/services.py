"""Console actions: a reply goes out by the ticket's own channel after it is stored."""

from django.conf import settings
from django.db import transaction
from django.utils.module_loading import import_string

from apps.tickets import services as tickets
from apps.tickets.models import Message, Ticket


def delivery_for(channel: str):
    """The channel app's function that sends an agent's message to the user, if that channel has one."""
    path = settings.REPLY_DELIVERY.get(channel)
    if not path:
        return None
    try:
        return import_string(path)
    except ModuleNotFoundError as error:
        # The channel app is not installed in this deployment; any other import error is a bug.
        if error.name and path.startswith(error.name):
            return None
        raise


@transaction.atomic
def reply(*, ticket: Ticket, user, body: str) -> Message:
    """Store an agent's reply (meeting the SLA clocks) and hand it to the channel for delivery."""
    if not body.strip():
        raise tickets.TicketError("empty reply")
    message = tickets.add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, body=body, author_user=user)
    deliver = delivery_for(ticket.channel)
    if deliver is not None:
        deliver(ticket=ticket, message=message)
    return message


def note(*, ticket: Ticket, user, body: str) -> Message:
    if not body.strip():
        raise tickets.TicketError("empty note")
    return tickets.add_message(ticket=ticket, direction=Message.Direction.NOTE, body=body, author_user=user)
