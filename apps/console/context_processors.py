from django.conf import settings

from apps.accounts.preferences import LANGUAGE_AUTONYMS
from apps.tickets.access import is_manager


def console(request):
    """Whether the signed-in user sees the manager's links; the languages of the switcher."""
    user = getattr(request, "user", None)
    return {"is_manager": bool(user and user.is_authenticated and is_manager(user)),
            "autonyms": [(code, LANGUAGE_AUTONYMS.get(code, code)) for code, _name in settings.LANGUAGES]}
