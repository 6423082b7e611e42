"""Ticket events leave the domain after commit, as one signal per transaction.

``tickets`` knows nothing of who listens: the console pushes them to agents, and later
Jira forwarding and reports subscribe the same way (``ticket_events_committed.connect``
in their ``AppConfig.ready``). A rolled-back transaction announces nothing.
"""

import logging

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

# Sent with ``event_ids`` (list[int], in write order) once the writing transaction commits.
ticket_events_committed = Signal()


def announce(event_ids: list[int]) -> None:
    """Tell the subscribers now; one failing subscriber never stops the others or the writer."""
    if not event_ids:
        return
    for receiver, outcome in ticket_events_committed.send_robust(sender=None, event_ids=event_ids):
        if isinstance(outcome, Exception):
            log.error("ticket event subscriber %r failed for events %s", receiver, event_ids[:5],
                      exc_info=(type(outcome), outcome, outcome.__traceback__))


def announce_on_commit(event_ids: list[int]) -> None:
    """Announce after commit, once per transaction however many events it wrote."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        announce(event_ids)
        return
    batch = getattr(connection, "_ticket_event_batch", None)
    # A rolled-back (save)point drops its callbacks: then this batch's flush is gone, start anew.
    if batch is None or not any(func == batch.flush for _sids, func, _robust in connection.run_on_commit):
        batch = connection._ticket_event_batch = _Batch(connection)
        transaction.on_commit(batch.flush)
    batch.ids.extend(event_ids)


class _Batch:
    def __init__(self, connection):
        self.connection = connection
        self.ids: list[int] = []

    def flush(self) -> None:
        if getattr(self.connection, "_ticket_event_batch", None) is self:
            self.connection._ticket_event_batch = None
        announce(self.ids)
