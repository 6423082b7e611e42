from apps.reports import publishing


def quarterly_reports_job() -> int:
    """Publish last quarter's owner reports once their day has come (hourly; nothing to do most hours)."""
    return len(publishing.publish_due())
