"""Bearer-token auth for the REST API (staff only)."""

from ninja.security import HttpBearer

from apps.accounts.services import user_for_token


class StaffToken(HttpBearer):
    def authenticate(self, request, token: str):
        user = user_for_token(token)
        if user is None or not user.is_staff:
            return None
        request.user = user
        return user
