from django.conf import settings

from apps.accounts.preferences import LANGUAGE_AUTONYMS
from apps.console.selectors import saved_searches as own_saved_searches
from apps.tickets.access import is_manager


def console(request):
    """Whether the signed-in user sees the manager's links; their saved searches, read only if a page lists
    them; the languages of the switcher."""
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)

    def saved_searches():
        return list(own_saved_searches(user=user)) if signed_in else []

    return {"is_manager": signed_in and is_manager(user), "saved_searches": saved_searches,
            "autonyms": [(code, LANGUAGE_AUTONYMS.get(code, code)) for code, _name in settings.LANGUAGES]}
