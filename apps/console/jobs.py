"""Background console work: pushing large batches of events, routing timers."""

from apps.console.events import publish_events
from apps.routing.services import expire_offers, expire_presence


def broadcast_events_job(event_ids: list[int]) -> int:
    publish_events(event_ids)
    return len(event_ids)


def routing_tick_job() -> dict:
    """Every few seconds: offers not accepted in time move on; silent consoles go offline."""
    return {"offers_expired": expire_offers(), "agents_offline": expire_presence()}
