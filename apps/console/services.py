"""Console actions: a reply goes out by the ticket's own channel after it is stored, or by email
when that channel cannot carry it any more."""

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from apps.console.models import SavedSearch
from apps.console.selectors import Destination, destinations
from apps.desk import actions
from apps.tickets import channels
from apps.tickets import services as tickets
from apps.tickets.models import Message, Ticket


def _check_files(files) -> None:
    limit = settings.REPLY_MAX_ATTACHMENT_BYTES
    if sum(file.size for file in files) > limit:
        raise tickets.TicketError(
            _("Attached files may be at most %(size)s together.") % {"size": filesizeformat(limit)})


def _add_files(message: Message, files) -> None:
    if files:
        tickets.add_attachments([(message, file.name, file.content_type, file.read()) for file in files])


REFUSALS = {
    Destination.LIVE: gettext_lazy("The visitor is no longer in the chat: reply by email or write a note."),
    Destination.EMAIL: gettext_lazy("This contact has no email address: a reply by email cannot reach them."),
    Destination.NOTE: gettext_lazy("Choose where the text goes."),
    Destination.SHARED_NOTE: gettext_lazy(
        "Only a note on an extension ticket can be shared with the extension's owner."),
}


@transaction.atomic
def send(*, ticket: Ticket, user, destination: str, body: str, files=()) -> Message:
    """The ticket page's one composer: the text goes where the agent chose, if it may go there now.

    ``destination`` is a ``Destination`` the ticket allows (``selectors.destinations``): a
    reply live or by email is delivered only that way; a note stays in the desk (shared: the
    owner reads it too). Anything else is refused and nothing is stored.
    """
    if destination not in destinations(ticket):
        raise tickets.TicketError(REFUSALS.get(destination, REFUSALS[Destination.NOTE]))
    if destination in (Destination.NOTE, Destination.SHARED_NOTE):
        return note(ticket=ticket, user=user, body=body, files=files,
                    shared_with_owner=destination == Destination.SHARED_NOTE)
    way = channels.live_delivery(ticket) if destination == Destination.LIVE else channels.later_delivery(ticket)
    return reply(ticket=ticket, user=user, body=body, files=files, ways=[way], refusal=REFUSALS[destination])


@transaction.atomic
def reply(*, ticket: Ticket, user, body: str, files=(), ways=None, refusal: str = "") -> Message:
    """Store an agent's reply (meeting the SLA clocks) and hand it to the channel for delivery.

    ``files`` (uploaded files: ``name``, ``content_type``, ``size``, ``read()``) go with it:
    attached to the mail, or as links in the chat. ``ways``: only these deliveries, and one
    must carry it (else ``refusal`` is raised and nothing is kept: the chat ended meanwhile).
    """
    if not body.strip() and not files:
        raise tickets.TicketError(_("Write a reply or attach a file."))
    _check_files(files)
    message = actions.add_message(ticket=ticket, direction=Message.Direction.OUTBOUND, body=body, author_user=user)
    _add_files(message, files)
    # When the ticket's own channel can no longer carry it (the chat has ended and the
    # visitor is gone), the reply follows up by its fallback: email, threaded under the reference.
    for deliver in ways or channels.reply_deliveries(ticket):
        if deliver(ticket=ticket, message=message) is not None:
            break
    else:
        if ways:
            raise tickets.TicketError(refusal)
    return message


@transaction.atomic
def note(*, ticket: Ticket, user, body: str, files=(), shared_with_owner: bool = False) -> Message:
    """An internal note; ``shared_with_owner``: the extension's owner reads it too (portal, Jira comment)."""
    if not body.strip() and not files:
        raise tickets.TicketError(_("Write a note or attach a file."))
    _check_files(files)
    message = actions.add_message(ticket=ticket, direction=Message.Direction.NOTE, body=body, author_user=user,
                                  shared_with_owner=shared_with_owner)
    _add_files(message, files)
    return message


def save_search(*, user, name: str, params: str) -> SavedSearch:
    """Keep the search under ``name`` (checked by ``SavedSearchForm``) for ``user``; a name saved again is replaced."""
    saved, _created = SavedSearch.objects.update_or_create(user=user, name=name, defaults={"params": params})
    return saved


def delete_saved_search(*, user, saved_id: int) -> bool:
    """Delete one of ``user``'s own saved searches; another user's is left alone (False)."""
    deleted, _rows = SavedSearch.objects.filter(user=user, pk=saved_id).delete()
    return bool(deleted)
