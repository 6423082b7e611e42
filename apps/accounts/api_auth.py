"""Bearer-token auth for the REST API: agents, the User Support Manager and superusers.

A token carries its user's scope: the ticket endpoints show what the ticket access rule
lets that user see. ``is_staff`` only opens the admin and grants no API access; a token
whose user is no longer an agent or manager stops working at once.
"""

from ninja.security import HttpBearer

from apps.accounts.selectors import works_tickets
from apps.accounts.services import user_for_token


class DeskToken(HttpBearer):
    def authenticate(self, request, token: str):
        user = user_for_token(token)
        if user is None or not works_tickets(user):
            return None
        request.user = user
        return user
