"""ASGI entry point: HTTP through Django (the phone line's webhooks in front of it), websockets through Channels."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "supportdesk.settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402
from django.conf import settings  # noqa: E402

from apps.chat.origins import WidgetOriginGate  # noqa: E402
from apps.chat.routing import websocket_urlpatterns as chat_routes  # noqa: E402
from apps.voice.asgi import PhoneLine  # noqa: E402
from supportdesk import daphne_tuning  # noqa: E402
from supportdesk.proxies import TrustedProxies, parse_networks  # noqa: E402
from supportdesk.routing import websocket_urlpatterns  # noqa: E402

daphne_tuning.apply()

application = TrustedProxies(ProtocolTypeRouter({
    # Twilio's webhooks skip Django's middleware (apps/voice/asgi.py); every other request goes through it.
    "http": PhoneLine(django_asgi_app),
    # The widget's socket may come from any embedding site and needs no session; everything else
    # keeps the host check and session auth.
    "websocket": WidgetOriginGate(URLRouter(chat_routes), fallback=AllowedHostsOriginValidator(
        AuthMiddlewareStack(URLRouter(websocket_urlpatterns)))),
}), networks=parse_networks(settings.TRUSTED_PROXIES))

daphne_tuning.settle_collector()
