"""Routing writes: which queue a ticket enters."""

from apps.routing.models import Queue, queue_kind_for


def queue_for(*, language: str, channel: str) -> Queue | None:
    """The language queue of the right kind; None until an administrator creates it."""
    return Queue.objects.filter(language=language, kind=queue_kind_for(channel)).first()
