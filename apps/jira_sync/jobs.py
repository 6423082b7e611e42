"""Periodic Jira work, listed in ``supportdesk.schedule``."""

from apps.jira_sync.reconcile import reconcile


def reconcile_job() -> dict[str, int]:
    return reconcile()
