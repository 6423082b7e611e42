"""What routing announces after commit; the console subscribes (routing imports no console code)."""

from django.dispatch import Signal

# Sent with ``agent_id`` and ``frame`` (the offer as the console shows it) once the offer is committed.
offer_made = Signal()

# Sent with ``user_id`` whenever an agent's presence may have changed (set, heartbeat, expiry), in
# the process that changed it. Whoever remembers who is online for a moment forgets it then.
presence_changed = Signal()
