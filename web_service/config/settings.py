"""Django settings for web_service.

Twelve-factor: every value that differs between deployments comes from the
environment, read here and nowhere else. Required values have no default, so a
missing one fails at start-up with a clear message instead of at the first
request. See .env.example at the repository root for the full list.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured
from kombu import Exchange, Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def _env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if default is None:
        raise ImproperlyConfigured(
            f"The environment variable {name} is required (see .env.example)."
        )
    return default


def _env_int(name: str, default: int) -> int:
    raw = _env(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, got {raw!r}.") from None


def _env_list(name: str, default: str | None = None) -> list[str]:
    return [item.strip() for item in _env(name, default).split(",") if item.strip()]


DEBUG = _env("DJANGO_DEBUG", "0") == "1"
SECRET_KEY = _env("DJANGO_SECRET_KEY")
# In debug mode a missing value falls back to local names only; in production
# it must be set, because a wildcard would accept any Host header.
ALLOWED_HOSTS = _env_list("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else None)
CSRF_TRUSTED_ORIGINS = _env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_celery_results",
    "rest_framework",
    # API tokens hashed at rest, expiring, revocable; docs/api.md, "Tokens" (see REST_KNOX).
    "knox",
    "drf_spectacular",
    # The docs page's Swagger UI files, served by us: no CDN is needed.
    "drf_spectacular_sidecar",
    # The Content-Security-Policy's middleware and its checks (docs/security.md).
    "csp",
    # Counts failed logins and locks out an address or a username (below).
    "axes",
    "accounts",
    "ratelimits",
    # One app per concern (web_service/README.md): the catalogue and playback,
    # the transcode jobs, and the uploads.
    "videos",
    "jobs",
    "ingest",
]

MIDDLEWARE = [
    # Outermost: times every answer, those of the middlewares below included.
    "videos.middleware.RequestMetricsMiddleware",
    # Adds the Content-Security-Policy (below) to every response, the refusals
    # of the two middlewares under it included; it reads nothing.
    "csp.middleware.CSPMiddleware",
    # Early, so it runs after everything else, however the request ended:
    # it aborts or deletes what this request streamed into the store and
    # did not keep (a refused, cut or invalid upload).
    "ingest.middleware.UploadCleanupMiddleware",
    # Refuses an upload on its Content-Length (411 without one, 413 over the
    # limit) before anything below can read a byte of its body.
    "ingest.middleware.UploadPrecheckMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Serves collected static files from gunicorn, so the admin and the page
    # are styled without a separate web server. https://whitenoise.readthedocs.io/
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Who uploads (session, token, or nobody: refused) and their quota, decided
    # in its process_view, which runs before CsrfViewMiddleware's, the first
    # thing that reads the body, and after every request phase below, so
    # request.user is known.
    "ingest.middleware.UploadGateMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a login refused for too many failures into its 429 page.
    "axes.middleware.AxesMiddleware",
    # Last, so it sees database errors raised by any view or middleware above.
    "videos.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# conn_health_checks re-opens a connection the database dropped (a restart)
# instead of failing the next request with it.
# https://docs.djangoproject.com/en/5.2/ref/databases/#persistent-connections
DATABASES = {
    "default": dj_database_url.parse(_env("DATABASE_URL"), conn_max_age=60, conn_health_checks=True)
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # `make run`'s fallback. SQLite refuses at once ("database is locked")
    # a transaction that read first and then wants to write while another
    # process writes; taking the write lock at BEGIN makes it wait instead.
    # https://docs.djangoproject.com/en/5.2/ref/databases/#database-is-locked-errors
    DATABASES["default"]["OPTIONS"] = {"transaction_mode": "IMMEDIATE", "timeout": 20}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    # Django requires a default storage; nothing here uses it. Videos live in
    # the object store, reached through core/objectstore.py.
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Compressed but not hashed: works with or without collectstatic, so a
    # fresh checkout serves the same CSS as the image that ran collectstatic.
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
# Without collectstatic (tests, a fresh checkout) WhiteNoise serves from the
# apps' static folders directly. https://whitenoise.readthedocs.io/en/stable/django.html
WHITENOISE_USE_FINDERS = True

# ---- Object store (docs/storage.md) ---------------------------------------
# Files pass between the web and the transcoder only through one S3 bucket.
# The web's own key may write sources/* and read outputs/*, never more.
S3_ENDPOINT_URL = _env("S3_ENDPOINT_URL", "")  # empty: AWS itself
S3_REGION = _env("S3_REGION", "us-east-1")
S3_BUCKET = _env("S3_BUCKET")
WEB_S3_ACCESS_KEY_ID = _env("WEB_S3_ACCESS_KEY_ID")
WEB_S3_SECRET_ACCESS_KEY = _env("WEB_S3_SECRET_ACCESS_KEY")
# Playback URLs are signed for the store's address as browsers reach it.
S3_PUBLIC_ENDPOINT_URL = _env("S3_PUBLIC_ENDPOINT_URL", S3_ENDPOINT_URL)
# How long a signed playback URL stays valid; a leaked one is useful for minutes.
S3_PRESIGN_SECONDS = _env_int("S3_PRESIGN_SECONDS", 300)
# Seconds to connect to the store, and of silence from it mid-request, before
# a request gives up; botocore tries 3 times (docs/storage.md, "When the store
# stalls"). Without a read timeout a hung store would hold an upload forever.
S3_CONNECT_TIMEOUT = _env_int("S3_CONNECT_TIMEOUT", 3)
S3_READ_TIMEOUT = _env_int("S3_READ_TIMEOUT", 60)
# /media/<key> answers with a redirect to a signed URL of that key.
MEDIA_URL = "/media/"

# ---- Accounts and the API ---------------------------------------------------
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": f"django.contrib.auth.password_validation.{name}"}
    for name in (
        "UserAttributeSimilarityValidator",
        "MinimumLengthValidator",
        "CommonPasswordValidator",
        "NumericPasswordValidator",
    )
]
# How many proxies we run in front of gunicorn, each setting or appending
# X-Forwarded-For: 0 under `make run` (the socket's peer is the client), 1 in
# compose (its nginx). Every limit per address trusts exactly these hops
# (ratelimits/clients.py); one more would let a client choose its address.
TRUSTED_PROXIES = _env_int("WEB_TRUSTED_PROXIES", 0)
# Password guessing (django-axes, https://django-axes.readthedocs.io/): after
# LOGIN_FAILURE_LIMIT failures from one address, or for one username, every
# login from that address or to that account is refused, the right password
# too, until LOGIN_LOCKOUT_SECONDS after the last failure. Covers the login
# page, the admin's and the API's token endpoint (AxesStandaloneBackend sees
# every authenticate() call that is given the request).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = _env_int("LOGIN_FAILURE_LIMIT", 10)
AXES_COOLOFF_TIME = timedelta(seconds=_env_int("LOGIN_LOCKOUT_SECONDS", 900))
AXES_LOCKOUT_PARAMETERS = ["ip_address", "username"]
# A lockout ends LOGIN_LOCKOUT_SECONDS after it began, so Retry-After is true;
# more tries during it are refused without being counted.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Not reset by a success: logging in to one's own account would otherwise
# clear the address's count between guesses at another.
AXES_RESET_ON_SUCCESS = False
AXES_CLIENT_IP_CALLABLE = "ratelimits.clients.client_address"
AXES_LOCKOUT_CALLABLE = "ratelimits.lockout.login_lockout"
# Only failures are kept (and deleted once older than the cool-off): no log
# of every successful login with its address.
AXES_DISABLE_ACCESS_LOG = True
# Sign-ups per address (every attempt counts, a refused one too), which also
# bounds how fast anyone can probe which usernames are taken.
SIGNUP_RATE = _env("SIGNUP_RATE", "10/hour")
# Throttles do not count here: the database cache reads and writes back
# without a lock, so parallel requests overshot every rate. They count in
# ratelimits' table, one atomic statement a hit (ratelimits/services.py).
# The cache stays shared by every worker for anything that may use it.
# The table comes from `manage.py createcachetable` (the Procfile's release).
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "django_cache",
    }
}
# https://www.django-rest-framework.org/api-guide/settings/
REST_FRAMEWORK = {
    # Token first: its 401 (with WWW-Authenticate) answers an anonymous call.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "knox.auth.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_THROTTLE_CLASSES": ["videos.views.rest.RequestRateThrottle"],
    # Our throttles key on ratelimits.clients.client_address; this keeps any
    # other DRF throttle to the same trusted proxies.
    "NUM_PROXIES": TRUSTED_PROXIES,
    "DEFAULT_THROTTLE_RATES": {
        "requests": _env("API_THROTTLE_REQUESTS", "600/minute"),
        "uploads": _env("API_THROTTLE_UPLOADS", "60/hour"),
    },
    "DEFAULT_PAGINATION_CLASS": "videos.views.rest.PagePagination",
    "PAGE_SIZE": 20,
    "EXCEPTION_HANDLER": "videos.views.rest.api_exception_handler",
    # drf-spectacular's, plus the error answers every operation shares.
    "DEFAULT_SCHEMA_CLASS": "videos.views.openapi.ApiAutoSchema",
}
# django-rest-knox, not DRF's authtoken: knox keeps only a SHA-512 digest of
# each token, gives each an expiry, one token per login (so each can be
# revoked alone, DELETE /api/auth/token/), and deletes them in bulk cheaply
# (accounts/services.py does on a password change); DRF's authtoken keeps one
# clear, eternal key per user. https://jazzband.github.io/django-rest-knox/
REST_KNOX = {
    # A hard lifetime: no auto-refresh, so a leaked token dies on schedule.
    "TOKEN_TTL": timedelta(seconds=_env_int("API_LOGIN_TTL", 24 * 3600)),
    "AUTO_REFRESH": False,
    "AUTH_HEADER_PREFIX": "Token",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Video pipeline API",
    "DESCRIPTION": "Upload videos, follow their transcodes, play the results.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get their own components: a file field is then binary
    # (not a URL) and a required text field has minLength 1, as validated.
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# ---- Uploads ---------------------------------------------------------------
UPLOAD_MAX_BYTES = _env_int("UPLOAD_MAX_BYTES", 2 * 1024**3)
# What one person may keep: their sources plus the outputs made from them.
USER_QUOTA_BYTES = _env_int("USER_QUOTA_BYTES", 10 * 1024**3)
# What everyone together may keep, open uploads' declared sizes included, so
# many accounts cannot fill the store's disk between them.
SITE_QUOTA_BYTES = _env_int("SITE_QUOTA_BYTES", 200 * 1024**3)
# Direct uploads in progress (started, not completed or aborted), per person
# and for the whole site: each holds its declared size until it ends.
USER_OPEN_UPLOADS_MAX = _env_int("USER_OPEN_UPLOADS_MAX", 4)
SITE_OPEN_UPLOADS_MAX = _env_int("SITE_OPEN_UPLOADS_MAX", 200)
# One file per upload: a second file part is refused (TooManyFilesSent, a
# 400) before any of its bytes are handled. The whole body, every part, is
# capped by the Content-Length check (UploadPrecheckMiddleware), and the
# fields beside the file by Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB).
DATA_UPLOAD_MAX_NUMBER_FILES = 1
DATA_UPLOAD_MAX_NUMBER_FIELDS = 100
# Stream every upload into an S3 multipart upload as it arrives: nothing is
# held whole in memory or on a local disk, and the size limit is enforced
# while the bytes arrive.
# https://docs.djangoproject.com/en/5.2/topics/http/file-uploads/#upload-handlers
FILE_UPLOAD_HANDLERS = [
    "ingest.upload_handlers.SizeLimitedUploadHandler",
    "ingest.upload_handlers.ObjectStoreUploadHandler",
]
# A multipart upload under sources/ started longer ago than this lost its web
# process (killed mid-request); the collector aborts it. It counts from the
# start of the upload, so it must exceed the longest upload you accept.
UPLOAD_ABANDONED_AFTER = _env_int("UPLOAD_ABANDONED_AFTER", 3600)

# ---- Messaging -------------------------------------------------------------
BROKER_URL = _env("BROKER_URL", "amqp://guest:guest@localhost:5672//")
# kombu's filesystem transport is `make run`'s embedded fallback when no
# RabbitMQ answers; both services must point it at the same folder.
# https://docs.celeryq.dev/projects/kombu/en/stable/reference/kombu.transport.filesystem.html
BROKER_TRANSPORT_OPTIONS: dict[str, str | bool] = {}
if BROKER_URL.startswith("filesystem:"):
    _folder = _env("BROKER_FILESYSTEM_DIR", str(BASE_DIR.parent / "var" / "broker"))
    Path(_folder).mkdir(parents=True, exist_ok=True)
    BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": _folder,
        "data_folder_out": _folder,
        # The exchange bindings; kombu's default is ./control in the cwd.
        "control_folder": str(Path(_folder) / "control"),
    }
# Publisher confirms: a job is marked `sent` only once RabbitMQ has it (acked
# and, for a durable queue, written). A nack or no answer within
# BROKER_CONFIRM_TIMEOUT seconds keeps it in the outbox. Only the AMQP
# transports have confirms; memory:// and filesystem:// publish in-process.
# https://www.rabbitmq.com/docs/confirms#publisher-confirms
BROKER_CONFIRMS = BROKER_URL.startswith(("amqp:", "amqps:", "pyamqp:"))
BROKER_CONFIRM_TIMEOUT = _env_int("BROKER_CONFIRM_TIMEOUT", 5)
if BROKER_CONFIRMS:
    BROKER_TRANSPORT_OPTIONS = {**BROKER_TRANSPORT_OPTIONS, "confirm_publish": True}
RESULTS_QUEUE = _env("RESULTS_QUEUE", "web.transcode_results")
# Whether the web declares transcode_queue (and the transcode_cancel exchange)
# before it publishes, so that a job sent before any transcoder ran waits in
# it. 0 where the broker's own definitions create them (docker-compose.yml):
# the web's broker user then needs no right to configure or read them, so it
# cannot consume the jobs.
TRANSCODE_QUEUE_DECLARE = _env("TRANSCODE_QUEUE_DECLARE", "1") == "1"
# What a new upload asks the transcoder for (docs/messages.md, `profiles`).
# Checked against the contract's list when the app starts (jobs/apps.py),
# so a typo stops start-up instead of failing every job with InvalidPayload.
TRANSCODE_PROFILES = _env_list("TRANSCODE_PROFILES", "720p,hls")
# ---- Celery: the web only sends (config/celery_app.py reads CELERY_*) ----
CELERY_BROKER_URL = BROKER_URL
CELERY_BROKER_TRANSPORT_OPTIONS = BROKER_TRANSPORT_OPTIONS
# JSON only on the wire; pickle is never produced or accepted.
# https://docs.celeryq.dev/en/stable/userguide/security.html#serializers
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_ACCEPT_CONTENT = ["json"]
# Route by task-name prefix, one queue per worker type, declared as the
# transcoder declares it (docs/messages.md; these literals are pinned against
# jobs/messaging/contract.py by tests/jobs/messaging/test_contract.py).
# https://docs.celeryq.dev/en/stable/userguide/routing.html#automatic-routing
CELERY_TASK_ROUTES = {"transcode.*": {"queue": "transcode_queue"}}
CELERY_TASK_QUEUES = [
    Queue(
        "transcode_queue",
        Exchange("transcode_queue", type="direct", durable=True),
        routing_key="transcode_queue",
        durable=True,
    )
]
# A route naming a queue that is not declared above raises QueueNotFound
# instead of silently creating a queue that nobody consumes.
CELERY_TASK_CREATE_MISSING_QUEUES = False
# Fail an upload's dispatch fast when the broker is down: the job stays in
# the outbox and the collector's relay sends it once the broker is back.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}

OUTBOX_RELAY_INTERVAL = _env_int("OUTBOX_RELAY_INTERVAL", 5)
# The web's GET /metrics answers a loopback client, and any other only with
# `Authorization: Bearer <METRICS_TOKEN>`; blank: loopback only.
METRICS_TOKEN = _env("METRICS_TOKEN", "")
# The collector's Prometheus /metrics (core/metrics.py): 0 (the default)
# serves none. Loopback by default: only a local scraper sees it.
COLLECTOR_METRICS_PORT = _env_int("COLLECTOR_METRICS_PORT", 0)
COLLECTOR_METRICS_HOST = _env("COLLECTOR_METRICS_HOST", "127.0.0.1")
# The reaper (jobs/services/reaper.py). A job sent but not started for
# JOB_RESEND_AFTER seconds is sent again, at most JOB_RESEND_LIMIT times, then
# failed. An hour: a job may wait that long behind a backlog, and a re-send
# is harmless (the transcoder is idempotent per job_id) but costs a queue slot.
JOB_RESEND_AFTER = _env_int("JOB_RESEND_AFTER", 3600)
JOB_RESEND_LIMIT = _env_int("JOB_RESEND_LIMIT", 3)
# A processing job with no state message for this long is failed. Above the
# worker's hard time limit (TRANSCODE_TIME_LIMIT, 1560 s by default), which
# always ends a live task with a FAILURE, so only a lost job reaches it.
JOB_STALLED_AFTER = _env_int("JOB_STALLED_AFTER", 1800)
# `manage.py retention_sweep` (videos/services/retention.py).
RESULTS_RETENTION_DAYS = _env_int("RESULTS_RETENTION_DAYS", 30)
FAILED_OUTPUTS_RETENTION_DAYS = _env_int("FAILED_OUTPUTS_RETENTION_DAYS", 7)
# A source with no video row is an upload whose request died between the
# store and the commit; younger ones may still be committing.
ORPHAN_SOURCE_GRACE = _env_int("ORPHAN_SOURCE_GRACE", 86400)

# ---- Security --------------------------------------------------------------
# DJANGO_HTTPS=1: served over TLS, by a TLS-terminating proxy in front (it
# sets X-Forwarded-Proto, and nginx passes it on). Then cookies travel over
# HTTPS only, plain HTTP is redirected, and browsers are told (HSTS) to use
# nothing else for a year. Off by default, because `make run` and the compose
# stack serve plain http://localhost, where secure cookies would never come
# back and a redirect would lead nowhere. `check --deploy` warns while it is
# off. https://docs.djangoproject.com/en/5.2/howto/deployment/checklist/
HTTPS = _env("DJANGO_HTTPS", "0") == "1"
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
# The container's healthcheck asks over plain HTTP from inside.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = 365 * 24 * 3600 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
# Trusted only when on: the proxy in front must then be the only way in, or a
# client could claim HTTPS itself (docs/running.md, "In production").
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if HTTPS else None
# HSTS preload is left to whoever owns the domain: once a preload header is
# served anyone may submit the domain to the browsers' built-in lists, which
# takes months to undo, for every subdomain. So no `preload`, and its check
# (security.W021) is silenced on purpose.
SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # the page's JavaScript reads the token from the form, not the cookie
X_FRAME_OPTIONS = "DENY"


# Content-Security-Policy on every response (django-csp; Django's own comes in
# 6.0). Scripts and styles only from our own files, none inline, so injected
# markup cannot run. The store's public origin serves what the page plays
# (MP4s, posters, preview sprites, hls.js's segments by fetch) and takes
# Uppy's part PUTs; blob: is hls.js's (MediaSource URLs and its worker);
# data: images are Uppy's and Swagger UI's icons in their CSS. Checked in a
# real browser: tests/browser asserts no `securitypolicyviolation` event.
def _origin(url: str) -> list[str]:
    parts = urlsplit(url)
    return [f"{parts.scheme}://{parts.netloc}"] if parts.scheme and parts.netloc else []


STORE_ORIGINS = _origin(S3_PUBLIC_ENDPOINT_URL) or (
    []  # a relative S3_PUBLIC_ENDPOINT_URL is our own origin
    if S3_PUBLIC_ENDPOINT_URL
    # AWS itself: objectstore.py signs virtual-hosted URLs of the bucket.
    else [
        f"https://{S3_BUCKET}.s3.amazonaws.com",
        f"https://{S3_BUCKET}.s3.{S3_REGION}.amazonaws.com",
    ]
)
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", *STORE_ORIGINS],
        "media-src": [SELF, "blob:", *STORE_ORIGINS],
        "connect-src": [SELF, *STORE_ORIGINS],
        "worker-src": [SELF, "blob:"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

# text (readable), or json: one JSON object per line (python-json-logger), as
# the transcoder writes them. Either way each record gets trace_id, span_id,
# job_id and video_id where they exist (core/telemetry.py, LogContext).
LOG_FORMAT = _env("LOG_FORMAT", "text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be text or json, got {LOG_FORMAT!r}.")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": ["asctime", "levelname", "name", "process", "message"],
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    },
    "filters": {"context": {"()": "core.telemetry.LogContext"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["console"], "level": "INFO"},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
