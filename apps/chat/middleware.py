"""CORS for the widget's API calls: the widget runs on other sites' pages.

Only ``/api/chat/`` answers cross-origin, and never with credentials: the visitor
token travels in a header, so another site cannot act with a visitor's cookies.
"""

from django.conf import settings
from django.http import HttpResponse

PREFIX = "/api/chat/"


def origin_allowed(origin: str) -> bool:
    allowed = settings.CHAT_ALLOWED_ORIGINS
    return bool(origin) and ("*" in allowed or origin in allowed)


class WidgetCorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(PREFIX):
            return self.get_response(request)
        origin = request.headers.get("Origin", "")
        if request.method == "OPTIONS" and request.headers.get("Access-Control-Request-Method"):
            response = HttpResponse(status=204)
            if origin_allowed(origin):
                response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
                response["Access-Control-Allow-Headers"] = "Content-Type, X-Chat-Token"
                response["Access-Control-Max-Age"] = "3600"
        else:
            response = self.get_response(request)
        if origin_allowed(origin):
            response["Access-Control-Allow-Origin"] = origin
            response["Vary"] = "Origin"
        return response
