"""Websocket routes of every channel app (wiring only)."""

from apps.chat.routing import websocket_urlpatterns as chat_routes
from apps.console.routing import websocket_urlpatterns as console_routes

websocket_urlpatterns: list = [*console_routes, *chat_routes]
