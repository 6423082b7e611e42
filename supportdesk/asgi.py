"""ASGI entry point: HTTP through Django (the phone line's webhooks in front of it), websockets through Channels."""

import gc
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

# Everything loaded so far (Django, the apps, catalogues, language data) lives as long as the
# process. Frozen, it is left out of the collector's full passes, which otherwise re-scanned
# it all and paused every socket of the server for tens to hundreds of milliseconds.
gc.freeze()
# What the chat servers create later (a socket's protocol, consumer and tasks) lives as long as
# the socket. A full pass scans all of it: ~120-180 ms with 1,000 sockets on a 2-core machine,
# a stall every chat on the process feels. CPython runs one after every 10 middle passes (when
# a quarter of the old objects are new); here after 100, and young passes every 7,000 net
# allocations instead of 700. Cycles are still collected, later (bench/RESULTS.md).
gc.set_threshold(*(int(n) for n in os.environ.get("GC_THRESHOLDS", "7000,10,100").split(",")))
