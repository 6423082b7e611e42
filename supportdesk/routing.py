"""Websocket routes; each channel app appends its own patterns here."""

websocket_urlpatterns: list = []
