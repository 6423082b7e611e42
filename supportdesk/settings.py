"""Settings for the support desk, read from environment variables.

Every variable has a safe default: DEBUG is off unless ``DEBUG=1``, and an unset
SECRET_KEY is generated once and kept under ``var/``. ``make run`` is a demo mode of
its own (``DEMO=1``): demo data, mail printed to the log, static files served from the
apps. With DATABASE_URL and REDIS_URL unset the desk runs embedded: SQLite, the
in-memory channel layer and background jobs executed in process.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from supportdesk.env import env_bool, env_int, env_list, env_str, generated_secret
from supportdesk.proxies import parse_networks

BASE_DIR = Path(__file__).resolve().parent.parent

# Off unless exactly 1 (DESIGN.md): "true", "2" or a typo leave it off, the safe side.
DEBUG = env_str("DEBUG").strip() == "1"
# `make run` sets DEMO=1 (supportdesk/launcher.py): a demo, not a development server.
DEMO = env_bool("DEMO", default=False)
SECRET_KEY = env_str("SECRET_KEY") or generated_secret(
    Path(env_str("SECRET_KEY_FILE", str(BASE_DIR / "var" / "secret_key"))))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")

INSTALLED_APPS = [
    "daphne",
    "modeltranslation",  # must precede the admin so translated fields appear there
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_rq",
    "ninja",  # serves /api/docs' Swagger UI from our static files, not a CDN: the docs work offline
    "apps.outbox",
    "apps.policy",
    "apps.accounts",
    "apps.owners",
    "apps.routing",
    "apps.tickets",
    "apps.sla",
    "apps.desk",
    "apps.reports",
    "apps.mail",
    "apps.feedback",
    "apps.console",
    "apps.chat",
    "apps.jira_sync",
    "apps.portal",
    "apps.voice",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "apps.chat.middleware.WidgetCorsMiddleware",
    # Before anything reads the request; after CORS, so the widget can read the 400.
    "supportdesk.middleware.MalformedInputMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.accounts.middleware.AgentPreferencesMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "supportdesk.urls"
ASGI_APPLICATION = "supportdesk.asgi.application"
WSGI_APPLICATION = "supportdesk.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "apps.console.context_processors.console",
            ],
        },
    },
]

# --- data stores -------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
DATABASES = {
    "default": dj_database_url.parse(DATABASE_URL)
    if DATABASE_URL
    # Tests use a file of their own too: the browser tests' server runs in another process.
    else {"ENGINE": "supportdesk.sqlite", "NAME": BASE_DIR / "var" / "supportdesk.sqlite3",
          "TEST": {"NAME": BASE_DIR / "var" / "test.sqlite3"}}
}
if DATABASES["default"]["ENGINE"] in ("django.db.backends.sqlite3", "supportdesk.sqlite"):
    DATABASES["default"]["ENGINE"] = "supportdesk.sqlite"     # Django's, with SQLite's real bulk limits
    # Embedded SQLite is written by several threads at once (daphne's, the SMTP listener's, the
    # jobs'). WAL lets readers go on while one writes; IMMEDIATE takes the write lock at BEGIN,
    # so a transaction that read first cannot fail with "database is locked" when it writes;
    # and a writer waits up to 20 s for the one before it instead of failing at once.
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20,
                                       "init_command": "PRAGMA journal_mode=WAL",
                                       **DATABASES["default"].get("OPTIONS", {})}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI every request runs in a thread of its own, so a connection kept per thread
    # (CONN_MAX_AGE) was never reused and piled up until PostgreSQL refused everyone (200
    # webhook requests/s used up its 100 connections in about a second). A pool per process
    # lends each request a connection and takes it back; a burst waits for one instead (up to
    # 4 s: with the database down, the SMTP listener must still answer 451 before its client gives up).
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": env_int("DATABASE_POOL_MIN", 2), "max_size": env_int("DATABASE_POOL_MAX", 16),
        "timeout": env_int("DATABASE_POOL_TIMEOUT_SECONDS", 4)}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
EMBEDDED = not (DATABASE_URL and REDIS_URL)

if REDIS_URL:
    # Pub/sub fans a group message out inside each process instead of queueing one copy per
    # socket in Redis; the core layer drops messages over capacity (bench/RESULTS.md). Pub/sub
    # can miss messages published during a Redis outage, so every client resyncs by cursor.
    CHANNEL_LAYER = env_str("CHANNEL_LAYER", "pubsub")
    # Pub/sub channels ignore Redis database numbers: a prefix per database keeps desks apart.
    _CHANNEL_PREFIX = "sd" + (REDIS_URL.rsplit("/", 1)[-1] if REDIS_URL.rsplit("/", 1)[-1].isdigit() else "0")
    CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                    "CONFIG": {"hosts": [REDIS_URL], "prefix": _CHANNEL_PREFIX}}
        if CHANNEL_LAYER == "pubsub"
        else {"BACKEND": "channels_redis.core.RedisChannelLayer",
              "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30}}
    }
    CACHES = {"default": {"BACKEND": "supportdesk.cache.SharedRedisCache", "LOCATION": REDIS_URL,
                          "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 5}}}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Without Redis there is no rq: supportdesk.jobs runs each job in process instead.
# A Redis that stops answering fails an enqueue in seconds, not never: the job then runs in process.
# The worker's niceness: on shared cores, the servers answering people (a caller on the line, a
# chat) run first; the worker's jobs wait a few milliseconds longer. 0 keeps the same priority.
WORKER_NICE = env_int("WORKER_NICE", 10)
RQ_QUEUES = {
    name: {"URL": REDIS_URL or "redis://127.0.0.1:6379/0", "DEFAULT_TIMEOUT": 300,
           "CONNECTION_KWARGS": {"socket_connect_timeout": 2, "socket_timeout": 5}}
    for name in ("default", "sla", "mail", "jira")
}
SLA_SWEEP_INTERVAL_SECONDS = env_int("SLA_SWEEP_INTERVAL_SECONDS", 15)

# --- auth --------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# Failed passwords per account and per address before both are refused for a while (apps.accounts.throttle).
LOGIN_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_SECONDS = env_int("LOGIN_LOCKOUT_SECONDS", 15 * 60)
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/console/"

# --- languages and time ------------------------------------------------------
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", _("English")),
    ("sv", _("Swedish")),
    ("es", _("Spanish")),
    ("de", _("German")),
    ("zh-hans", _("Simplified Chinese")),
    ("ja", _("Japanese")),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en",)
USE_I18N = True
USE_TZ = True
TIME_ZONE = "UTC"

# --- static and uploaded files -----------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "var" / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
# Served by WhiteNoise under daphne; in DEBUG and the demo straight from the app folders.
WHITENOISE_USE_FINDERS = DEBUG or DEMO
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))

# --- email -------------------------------------------------------------------
EMAIL_HOST = env_str("EMAIL_HOST", "127.0.0.1")
EMAIL_PORT = env_int("EMAIL_PORT", 1025)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "support@example.com")
# The demo and DEBUG print outgoing mail to the log: no SMTP server is there to take it.
EMAIL_BACKEND = env_str(
    "EMAIL_BACKEND",
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG or DEMO
    else "django.core.mail.backends.smtp.EmailBackend",
)

# --- the outbox (apps.outbox): everything that leaves the desk ------------------
# Retries wait 30 s, 60 s, 120 s … (with jitter) up to an hour apart; after two days a row is a dead letter.
OUTBOX_RETRY_BASE_SECONDS = env_int("OUTBOX_RETRY_BASE_SECONDS", 30)
# Forwards to the owners' Jira: first retry delay, how long to keep trying, each request's limit.
JIRA_RETRY_BASE_SECONDS = env_int("JIRA_RETRY_BASE_SECONDS", 30)
JIRA_MAX_AGE_SECONDS = env_int("JIRA_MAX_AGE_SECONDS", 24 * 3600)
JIRA_TIMEOUT_SECONDS = env_int("JIRA_TIMEOUT_SECONDS", 30)
JIRA_RECONCILE_SECONDS = env_int("JIRA_RECONCILE_SECONDS", 15 * 60)
# Encrypts the owners' Jira secrets at rest (any string); generated once under var/ when unset.
FIELD_ENCRYPTION_KEY = env_str("FIELD_ENCRYPTION_KEY") or generated_secret(
    Path(env_str("FIELD_ENCRYPTION_KEY_FILE", str(BASE_DIR / "var" / "field_encryption_key"))))
OUTBOX_RETRY_MAX_SECONDS = env_int("OUTBOX_RETRY_MAX_SECONDS", 3600)
OUTBOX_MAX_AGE_SECONDS = env_int("OUTBOX_MAX_AGE_SECONDS", 2 * 24 * 3600)
# A row "sending" for longer than this belonged to a worker that died: the sweep sends it again.
OUTBOX_CLAIM_SECONDS = env_int("OUTBOX_CLAIM_SECONDS", 300)

# --- mail in and out (apps.mail) ---------------------------------------------
MAIL_MAX_BYTES = env_int("MAIL_MAX_BYTES", 25 * 1024 * 1024)
# Shared secret of POST /email/inbound; empty turns the webhook off.
MAIL_INBOUND_SECRET = env_str("MAIL_INBOUND_SECRET")
MAIL_SMTP_HOST = env_str("MAIL_SMTP_HOST", "127.0.0.1")
MAIL_SMTP_PORT = env_int("MAIL_SMTP_PORT", 2525)
MAIL_THREAD_DAYS = env_int("MAIL_THREAD_DAYS", 14)
MAIL_RECEIPTS_PER_SENDER_PER_HOUR = env_int("MAIL_RECEIPTS_PER_SENDER_PER_HOUR", 3)
# The mail worker files stored mail in batches of this many, parsing the next batch in this many
# processes while it files the current one (embedded, without Redis, it parses in process).
MAIL_FILING_BATCH = env_int("MAIL_FILING_BATCH", 50)
MAIL_PARSE_PROCESSES = env_int("MAIL_PARSE_PROCESSES", os.cpu_count() or 1)
# One filing job files for at most this long (then at least one batch); under steady mail the
# next job goes on after the worker's other queues had their turn (a caller's steps, Jira, SLA).
MAIL_FILING_SLICE_SECONDS = env_int("MAIL_FILING_SLICE_SECONDS", 10)
# Flow control: while more stored messages than this wait to be filed (two batches: the filer never
# runs dry), the SMTP listener holds its next "250" (up to MAIL_BACKLOG_MAX_WAIT_SECONDS; the message
# is stored either way), so senders slow to the pace mail is filed instead of building a queue of
# minutes; 0 turns it off.
MAIL_BACKLOG_LIMIT = env_int("MAIL_BACKLOG_LIMIT", 2 * MAIL_FILING_BATCH)
MAIL_BACKLOG_MAX_WAIT_SECONDS = env_int("MAIL_BACKLOG_MAX_WAIT_SECONDS", 30)
IMAP_HOST = env_str("IMAP_HOST")
IMAP_PORT = env_int("IMAP_PORT", 993)
IMAP_SSL = env_bool("IMAP_SSL", default=True)
IMAP_USER = env_str("IMAP_USER")
IMAP_PASSWORD = env_str("IMAP_PASSWORD")
IMAP_FOLDER = env_str("IMAP_FOLDER", "INBOX")
# Processed mail is moved here; empty keeps it in place, flagged \Seen.
IMAP_PROCESSED_FOLDER = env_str("IMAP_PROCESSED_FOLDER")
IMAP_POLL_SECONDS = env_int("IMAP_POLL_SECONDS", 60)

# --- feedback reports (apps.feedback) ----------------------------------------
FEEDBACK_MAX_ATTACHMENTS = env_int("FEEDBACK_MAX_ATTACHMENTS", 5)
FEEDBACK_MAX_ATTACHMENT_BYTES = env_int("FEEDBACK_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
FEEDBACK_MAX_MESSAGE_CHARS = env_int("FEEDBACK_MAX_MESSAGE_CHARS", 20_000)

# --- live chat (apps.chat) ----------------------------------------------------
CHAT_TOKEN_MAX_AGE_SECONDS = env_int("CHAT_TOKEN_MAX_AGE_SECONDS", 24 * 3600)
CHAT_MAX_MESSAGE_CHARS = env_int("CHAT_MAX_MESSAGE_CHARS", 4000)
CHAT_MAX_FRAME_BYTES = env_int("CHAT_MAX_FRAME_BYTES", 16 * 1024)
# Token buckets: sustained messages per minute, bursts of up to CHAT_MESSAGE_BURST.
CHAT_VISITOR_MESSAGES_PER_MINUTE = env_int("CHAT_VISITOR_MESSAGES_PER_MINUTE", 60)
CHAT_MESSAGE_BURST = env_int("CHAT_MESSAGE_BURST", 10)
CHAT_IP_MESSAGES_PER_MINUTE = env_int("CHAT_IP_MESSAGES_PER_MINUTE", 600)
CHAT_IP_CONVERSATIONS_PER_HOUR = env_int("CHAT_IP_CONVERSATIONS_PER_HOUR", 30)
CHAT_FRAMES_PER_SECOND = env_int("CHAT_FRAMES_PER_SECOND", 20)
CHAT_MAX_ATTACHMENT_BYTES = env_int("CHAT_MAX_ATTACHMENT_BYTES", 10 * 1024 * 1024)
# A chat with an agent and no new line for this long is ended by the desk (0: never); later replies go by email.
CHAT_IDLE_END_MINUTES = env_int("CHAT_IDLE_END_MINUTES", 30)
# A visitor still waiting for an agent after this long is offered to be answered by email instead
# (at once when the wait cannot be estimated); the policy's chat target is 1 min.
CHAT_OFFER_EMAIL_AFTER_SECONDS = env_int("CHAT_OFFER_EMAIL_AFTER_SECONDS", 90)
CHAT_ATTACHMENT_TYPES = env_list("CHAT_ATTACHMENT_TYPES", [
    "image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf", "text/plain", "application/zip"])
# Sites allowed to embed the widget ("*" = any): a visitor token, not a cookie, authorises it.
CHAT_ALLOWED_ORIGINS = env_list("CHAT_ALLOWED_ORIGINS", ["*"])

# --- the console (apps.console) -----------------------------------------------
# How often a console's socket asks the page for its heartbeat, which keeps the agent online
# (apps.routing.selectors.PRESENCE_TIMEOUT_SECONDS, 60 s): asked from the server, as a hidden tab's timers run late.
CONSOLE_HEARTBEAT_SECONDS = env_int("CONSOLE_HEARTBEAT_SECONDS", 20)

# --- integrations ------------------------------------------------------------
# The phone line (apps.voice) is on when both are set; /voice/* answers 404 otherwise.
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_ENABLED = bool(TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN)
# The agents' browser softphone (/voice/token) also needs an API key and a TwiML app.
TWILIO_API_KEY = env_str("TWILIO_API_KEY")
TWILIO_API_SECRET = env_str("TWILIO_API_SECRET")
TWILIO_TWIML_APP_SID = env_str("TWILIO_TWIML_APP_SID")
# Where the Twilio REST client sends requests (a local stand-in in tests); empty: Twilio itself.
TWILIO_API_BASE_URL = env_str("TWILIO_API_BASE_URL")
TWILIO_TIMEOUT_SECONDS = env_int("TWILIO_TIMEOUT_SECONDS", 10)
# Text-to-speech voices of the IVR, and what a waiting caller hears between announcements.
VOICE_VOICE_EN = env_str("VOICE_VOICE_EN", "Polly.Joanna")
VOICE_VOICE_SV = env_str("VOICE_VOICE_SV", "Polly.Astrid")
VOICE_HOLD_MUSIC_URL = env_str(
    "VOICE_HOLD_MUSIC_URL", "http://com.twilio.sounds.music.s3.amazonaws.com/MARKOVICHAMP-Borghestral.mp3")
# A caller waiting this long is offered voicemail or a callback (the policy's phone target).
VOICE_OFFER_VOICEMAIL_SECONDS = env_int("VOICE_OFFER_VOICEMAIL_SECONDS", 180)
# Threads per server process answering Twilio's webhooks in front of Django (apps/voice/asgi.py).
VOICE_WEBHOOK_THREADS = env_int("VOICE_WEBHOOK_THREADS", 8)
# The worker applies stored call steps in batches; while steps keep coming it pauses this long
# between two, so the batches are fewer and larger (apps/voice/jobs.py). 0: no pause.
VOICE_STEPS_LINGER_MS = env_int("VOICE_STEPS_LINGER_MS", 100)
# One job applies steps for at most this long; then the worker's other queues get their turn.
VOICE_STEPS_SLICE_SECONDS = env_int("VOICE_STEPS_SLICE_SECONDS", 2)
# A bridge to an agent is worth trying only while the caller may still be waiting.
VOICE_BRIDGE_MAX_AGE_SECONDS = env_int("VOICE_BRIDGE_MAX_AGE_SECONDS", 120)

# --- security ----------------------------------------------------------------
# Secure cookies and HTTPS rules follow the address users reach: over plain http (the demo on
# 127.0.0.1) a Secure cookie is never sent back and nobody could sign in.
HTTPS = PUBLIC_BASE_URL.startswith("https://")
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE = HTTPS
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Proxies (addresses or networks) whose X-Forwarded-For/-Proto are believed (supportdesk/proxies.py);
# from anyone else those headers are dropped. Empty: the connecting peer is the client.
TRUSTED_PROXIES = env_list("TRUSTED_PROXIES", [])
try:
    parse_networks(TRUSTED_PROXIES)
except ValueError as error:
    raise ImproperlyConfigured(f"TRUSTED_PROXIES: {error}") from error
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=HTTPS)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000 if HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=HTTPS)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=HTTPS)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    # aiosmtpd logs every SMTP command at INFO, rq every periodic job (10 lines every 5 s); the
    # worker's own level is its --verbosity (supportdesk/launcher.py).
    # daphne announces its endpoints and missing HTTP/2 extras at INFO; the launcher says where it serves.
    "loggers": {"mail.log": {"level": "WARNING"}, "rq": {"level": env_str("RQ_LOG_LEVEL", "WARNING").upper()},
                "daphne": {"level": "WARNING"}},
}

# Files an agent attaches to one reply or note, together (mail servers commonly refuse 25 MB).
REPLY_MAX_ATTACHMENT_BYTES = env_int("REPLY_MAX_ATTACHMENT_BYTES", 20 * 1024 * 1024)

