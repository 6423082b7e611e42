"""The manager's list of dead letters, each with a retry button (mounted under /console/outbox/)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.selectors import is_manager
from apps.outbox import selectors, services


def manager_only(view):
    @login_required
    def wrapper(request, *args, **kwargs):
        if not is_manager(request.user):
            raise Http404("dead letters")
        return view(request, *args, **kwargs)
    return wrapper


@manager_only
def dead_letters(request):
    return render(request, "outbox/dead_letters.html", {
        "items": selectors.dead_letters(), "counts": selectors.counts_by_status()})


@require_POST
@manager_only
def retry(request, item_id: int):
    services.retry(item_id=item_id)        # one already retried (a second click) is left as it is
    return redirect("outbox:dead_letters")
