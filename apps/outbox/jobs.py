"""Outbox jobs: take ids, safe to run twice (a row is claimed before it is sent)."""

from apps.outbox import services


def deliver_job(item_ids: list[int]) -> dict:
    return services.deliver(item_ids=item_ids)


def deliver_due_job() -> dict:
    return services.deliver_due()
