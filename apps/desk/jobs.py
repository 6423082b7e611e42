"""Scheduled work that changes tickets, so it goes through the actions. Jobs are thin."""

from apps.desk import actions


def sweep_sla_job() -> dict:
    result = actions.sweep_sla()
    return {"breached": len(result.breached), "warned": len(result.warned)}
