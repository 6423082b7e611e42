from django.urls import path

from apps.chat.consumers import VisitorConsumer

websocket_urlpatterns = [path("ws/chat/<uuid:conversation_id>/", VisitorConsumer.as_asgi())]
