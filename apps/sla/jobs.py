"""Background work of the SLA app: notifications, recomputation (the sweep is ``apps.desk.jobs``).

Jobs take ids, so a rerun after a crash repeats nothing harmful.
"""

from apps.sla import notifications, services


def notify_job(warned_ids: list[int], breached_ids: list[int]) -> int:
    return notifications.notify(warned_ids=warned_ids, breached_ids=breached_ids)


def recompute_running_targets_job(region_id: int | None) -> int:
    return services.recompute_running_targets(region_id=region_id)
