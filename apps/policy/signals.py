"""What the policy announces, so the apps that depend on it follow without being imported here."""

from django.dispatch import Signal

# Sent with ``region_id`` (None: every region) when hours, holidays or SLA rules were edited;
# the SLA app recomputes the running clocks it affects.
hours_changed = Signal()
