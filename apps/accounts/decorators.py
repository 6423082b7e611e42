"""Guards for the manager's pages, by the one rule (``selectors.is_manager``), so no view checks it by hand."""

from functools import wraps

from django.contrib.auth.decorators import login_required
from django.http import HttpResponseForbidden
from django.utils.translation import gettext as _

from apps.accounts.selectors import is_manager


def manager_required(view):
    """The User Support Manager and superusers; a visitor is sent to sign in, anyone else gets 403."""
    @login_required
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_manager(request.user):
            return HttpResponseForbidden(_("This view is for the User Support Manager."))
        return view(request, *args, **kwargs)
    return wrapper
