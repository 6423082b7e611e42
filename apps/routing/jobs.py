"""Routing's periodic work that is not the console's."""

from apps.routing.services import record_presence


def record_presence_job() -> int:
    """Each minute: who is online, kept per hour for the staffing forecast's comparison."""
    return record_presence()
