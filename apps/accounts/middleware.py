"""The signed-in agent's own zone and language (stored times stay UTC).

Runs after Django's LocaleMiddleware (which follows the browser's Accept-Language and the
language cookie) and after authentication: a language chosen on the agent's profile wins.
"""

import zoneinfo

from django.utils import timezone, translation


class AgentPreferencesMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        profile = getattr(request.user, "agent_profile", None) if request.user.is_authenticated else None
        try:
            timezone.activate(zoneinfo.ZoneInfo(profile.time_zone)) if profile else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        if profile is not None and profile.language:
            translation.activate(profile.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
