from django.conf import settings

from apps.accounts.preferences import LANGUAGE_AUTONYMS
from apps.console.selectors import saved_searches as own_saved_searches
from apps.console.views import _strings
from apps.tickets.access import is_manager


def console(request):
    """Whether the signed-in user sees the manager's links; their saved searches, read only if a page lists
    them; the languages of the switcher; the console script's texts, made only if a page asks."""
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)

    def saved_searches():
        return list(own_saved_searches(user=user)) if signed_in else []

    def console_strings():
        # The console script's texts, for a console page whose view passes none (search, undelivered):
        # without them the live status had no word.
        return _strings()

    return {"is_manager": signed_in and is_manager(user), "saved_searches": saved_searches,
            "console_strings": console_strings,
            "autonyms": [(code, LANGUAGE_AUTONYMS.get(code, code)) for code, _name in settings.LANGUAGES]}
