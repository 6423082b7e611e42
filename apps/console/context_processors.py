from apps.tickets.access import is_manager


def console(request):
    """Whether the signed-in user sees the manager's links."""
    user = getattr(request, "user", None)
    return {"is_manager": bool(user and user.is_authenticated and is_manager(user))}
