"""The phone benchmark's baseline: a bare Django view answering every /voice/ POST with static TwiML.

Settings, URLs, view and ASGI application in one module, served exactly as the desk is
(``python -m daphne … bench.voice_baseline:application``, same process count, same shared
socket): no middleware, no database, no signature check, no template. What
``bench/voice_webhooks.py`` measures here is daphne + Django's request handling + the load
client, so the desk's figures divided by these are what the desk's own work costs. Daphne
and the collector are as they come; with ``--bare-as-tuned`` (a what-if) the bare view gets
the desk's server tuning too (``supportdesk/daphne_tuning.py``, the collector frozen and
its thresholds at the desk's defaults).
"""

import os

from django.http import HttpResponse
from django.urls import re_path

SECRET_KEY = "bench-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = __name__
INSTALLED_APPS: list[str] = []
MIDDLEWARE: list[str] = []
DATABASES: dict = {}
USE_TZ = True
USE_I18N = False

# The desk's language menu, as /voice/incoming answers it (about the same size as its other answers).
TWIML = (
    b'<?xml version="1.0" encoding="UTF-8"?><Response><Gather action="/voice/language" hints="English, Swedish, '
    b'svenska, engelska" input="dtmf speech" language="en-US" method="POST" numDigits="1" speechTimeout="auto" '
    b'timeout="5"><Say language="en-US" voice="Polly.Joanna">For English, press 1. For Swedish, press 2.</Say>'
    b'<Say language="sv-SE" voice="Polly.Astrid">F\xc3\xb6r engelska, tryck 1. F\xc3\xb6r svenska, tryck 2.</Say>'
    b'</Gather><Redirect method="POST">/voice/language</Redirect></Response>'
)


def twiml(request):
    return HttpResponse(TWIML, content_type="text/xml")


urlpatterns = [re_path(r"^voice/", twiml)]

if os.environ.get("DJANGO_SETTINGS_MODULE") == __name__:
    from django.core.asgi import get_asgi_application

    application = get_asgi_application()
    if os.environ.get("BARE_AS_TUNED"):     # what-if (voice_webhooks.py --bare-as-tuned): the desk's server tuning
        from supportdesk import daphne_tuning

        daphne_tuning.apply()
        daphne_tuning.settle_collector()
