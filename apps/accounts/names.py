"""The one name an agent goes by, wherever the desk names them (console, widget, mail, API)."""


def display_name(user) -> str:
    """The profile's display name, else the full name, else the username; "" for nobody.

    Reads ``user.agent_profile``: callers naming many users select_related it.
    """
    if user is None:
        return ""
    profile = getattr(user, "agent_profile", None)   # none for owners' admins and superusers
    chosen = profile.display_name.strip() if profile is not None else ""
    return chosen or user.get_full_name().strip() or user.get_username()


def signature(user) -> str:
    """The agent's signature for mail ("" when none)."""
    profile = getattr(user, "agent_profile", None) if user is not None else None
    return profile.signature.strip() if profile is not None else ""
