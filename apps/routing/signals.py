"""What routing announces after commit; the console subscribes (routing imports no console code)."""

from django.dispatch import Signal

# Sent with ``agent_id`` and ``frame`` (the offer as the console shows it) once the offer is committed.
offer_made = Signal()
