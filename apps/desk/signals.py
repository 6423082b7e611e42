"""What the actions announce to the edges that act on it (the edges subscribe; the actions import none)."""

from django.dispatch import Signal

# Sent with ``ticket`` INSIDE the transaction that forwarded it (extension triage), so whatever a
# subscriber writes (the Jira forward's outbox row) commits or rolls back with the triage.
forward_requested = Signal()

# Sent with ``ticket`` and ``message`` INSIDE the transaction that stored it: the user wrote on a ticket
# that is with its extension's owner, or an agent shared a note with the owner (the Jira comment).
owner_message = Signal()

# Sent with ``ticket``, ``extension`` (the one it was wrongly triaged to) and ``actor`` INSIDE the
# transaction that returned it to triage: the owner said it is not theirs.
misassigned = Signal()

# Sent with ``ticket``, ``user`` and ``live`` INSIDE the transaction that gave the ticket to an agent (an
# offer accepted, routing, a take): a queued call is bridged to that agent (the voice app's outbox row).
# ``live`` False: the ticket is known to be async work (routing assigns only that), so no caller waits.
ticket_taken = Signal()

# Sent with ``ticket`` and ``into`` INSIDE the transaction that merges ``ticket`` into ``into``, before
# anything is written: a subscriber moves what it keeps per ticket (the Jira link), or refuses the
# merge by raising ``tickets.services.TicketError`` (then nothing is written at all).
merging = Signal()
