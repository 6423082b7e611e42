"""The manager's list of dead letters, each with a retry button (mounted under /console/outbox/)."""

from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from apps.accounts.decorators import manager_required
from apps.outbox import selectors, services


@manager_required
def dead_letters(request):
    return render(request, "outbox/dead_letters.html", {
        "items": selectors.dead_letters(), "counts": selectors.counts_by_status()})


@require_POST
@manager_required
def retry(request, item_id: int):
    services.retry(item_id=item_id)        # one already retried (a second click) is left as it is
    return redirect("outbox:dead_letters")
