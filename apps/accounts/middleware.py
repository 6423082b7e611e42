"""Show times in the signed-in agent's own zone (stored times stay UTC)."""

import zoneinfo

from django.utils import timezone


class AgentTimezoneMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        profile = getattr(request.user, "agent_profile", None) if request.user.is_authenticated else None
        try:
            timezone.activate(zoneinfo.ZoneInfo(profile.time_zone)) if profile else timezone.deactivate()
        except zoneinfo.ZoneInfoNotFoundError:
            timezone.deactivate()
        return self.get_response(request)
