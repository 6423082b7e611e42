"""What the actions announce to the edges that act on it (the edges subscribe; the actions import none)."""

from django.dispatch import Signal

# Sent with ``ticket`` INSIDE the transaction that forwarded it (extension triage), so whatever a
# subscriber writes (the Jira forward's outbox row) commits or rolls back with the triage.
forward_requested = Signal()
