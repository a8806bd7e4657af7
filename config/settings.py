"""Emend settings, read from the environment.

With no environment at all a checkout runs the embedded shape: SQLite and a file-system Celery
broker under var/, a file cache both the web and the worker process see. DATABASE_URL,
CELERY_BROKER_URL and CACHE_URL switch to the production shape (PostgreSQL, Redis or RabbitMQ).
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return default if value in (None, "") else int(value)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


VAR_DIR = Path(env("EMEND_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and not env_bool("EMEND_INSECURE_DEV_KEY", False):
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (make run sets DEBUG=1 for the demo)"
        )
    SECRET_KEY = "insecure-development-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "template_partials",
    "rest_framework",
    "rest_framework.authtoken",
    "edition",
    "review",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Cached anonymous pages, answered before the rest (edition/pagecache.py, the fast path).
    "edition.middleware.ReaderFastPathMiddleware",
    # Signed-in readers of a unit's page, from one cache round trip (edition/signedin.py).
    "edition.signedin.SignedInFastPathMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "edition.middleware.CSPMiddleware",  # django-csp's, built once: "Security headers" below
    "edition.middleware.PrivateWhenSignedInMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "edition.middleware.CanonicalCaseMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "review.context_processors.header",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'emend.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker read while the web process writes; IMMEDIATE avoids lock upgrades
    # failing half-way through a write transaction.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"


def _cache(url: str) -> dict:
    # edition/sharedcache.py: every key names the database it was made from; a Redis or a
    # folder that fails answers misses (the site renders uncached) instead of errors.
    scoped = {"KEY_FUNCTION": "edition.sharedcache.make_key"}
    if url.startswith(("redis://", "rediss://", "unix://")):
        # Short timeouts: while Redis is unreachable a request must not wait on it.
        return {**scoped, "BACKEND": "edition.sharedcache.RedisCache", "LOCATION": url,
                "OPTIONS": {
                    "socket_connect_timeout": float(env("CACHE_CONNECT_TIMEOUT", "0.25")),
                    "socket_timeout": float(env("CACHE_TIMEOUT", "1")),
                }}
    if url == "locmem://":
        return {**scoped, "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                "OPTIONS": {"MAX_ENTRIES": 20000}}
    if url.startswith("file://"):
        return {
            **scoped,
            "BACKEND": "edition.sharedcache.FileBasedCache",
            "LOCATION": url.removeprefix("file://"),
            "OPTIONS": {"MAX_ENTRIES": 20000},
        }
    raise ImproperlyConfigured(f"CACHE_URL {url!r}: use redis://…, file:///path or locmem://")


CACHES = {"default": _cache(env("CACHE_URL", f"file://{VAR_DIR / 'cache'}"))}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "edition:home"
LOGOUT_REDIRECT_URL = "edition:home"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(VAR_DIR / "static")))
MEDIA_URL = "media/"
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
# Where built exports are written (shared storage in production).
EXPORT_ROOT = Path(env("EXPORT_ROOT", str(VAR_DIR / "exports")))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Built exports. Any Django storage works (shared storage lets workers on other hosts
    # write them): set EXPORT_STORAGE_BACKEND, e.g. storages.backends.s3.S3Storage.
    "exports": {"BACKEND": env("EXPORT_STORAGE_BACKEND")} if env("EXPORT_STORAGE_BACKEND") else {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(EXPORT_ROOT)},
    },
    "staticfiles": {
        # Hashed names need `collectstatic`; tests and DEBUG serve files from the apps.
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if env_bool("STATIC_MANIFEST", not DEBUG)
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}

REST_FRAMEWORK = {
    # Token first, so that a 401 carries `WWW-Authenticate: Token`; session authentication makes
    # DRF enforce CSRF on unsafe methods.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "EXCEPTION_HANDLER": "review.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

# Emend's own settings.
# Anonymous pages: how long a shared cache (a proxy, a CDN) may serve one without asking, and
# how long after that it may serve it stale while it revalidates (README, "Deployment").
EMEND_SHARED_MAX_AGE = env_int("EMEND_SHARED_MAX_AGE", 10)
EMEND_STALE_WHILE_REVALIDATE = env_int("EMEND_STALE_WHILE_REVALIDATE", 30)
EMEND_MAX_IMPORT_BYTES = env_int("EMEND_MAX_IMPORT_BYTES", 64 * 1024 * 1024)
# An import storing more new revisions than this leaves their rendering check to the worker
# (edition/imports.py, edition/gate.py check_rendering); up to it, its report names them at once.
EMEND_IMPORT_RENDER_INLINE_UNITS = env_int("EMEND_IMPORT_RENDER_INLINE_UNITS", 50)
# What one proposal may ask of a worker: the TEI (or text) of one change, how deep its elements
# nest (the renderers and exports recurse), and how many changes it holds. Validating and
# applying a change is linear in its size; these keep that size sane.
EMEND_MAX_FRAGMENT_BYTES = env_int("EMEND_MAX_FRAGMENT_BYTES", 1024 * 1024)
EMEND_MAX_FRAGMENT_DEPTH = env_int("EMEND_MAX_FRAGMENT_DEPTH", 32)
# How deep a unit's elements may nest (its <div>'s children are at depth 1), whoever writes it:
# the gate refuses a revision past it (edition/gate.py: approvals; an import warns) and a build
# leaves such a unit out, reported, rather than fail the volume. Renderers and WeasyPrint
# recurse per level (WeasyPrint's style inheritance failed a volume's PDF from about 230
# levels); tests/edition/test_depth_limit.py proves every export builds at the limit.
EMEND_MAX_TEI_DEPTH = env_int("EMEND_MAX_TEI_DEPTH", 100)
EMEND_MAX_PROPOSAL_CHANGES = env_int("EMEND_MAX_PROPOSAL_CHANGES", 100)
EMEND_MAX_REPLACEMENT_CHARS = env_int("EMEND_MAX_REPLACEMENT_CHARS", 10_000)  # a text change
EMEND_MAX_RATIONALE_CHARS = env_int("EMEND_MAX_RATIONALE_CHARS", 5_000)  # rationale, reason, comment
# Django's own cap on a request body read into memory (a form post, an API body): above the
# fragment limit, so that a change too large gets the message naming that limit. A form sends a
# fragment percent-encoded (up to three bytes for one), hence four times its default.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 4 * EMEND_MAX_FRAGMENT_BYTES)
if DATA_UPLOAD_MAX_MEMORY_SIZE <= EMEND_MAX_FRAGMENT_BYTES:
    raise ImproperlyConfigured("DATA_UPLOAD_MAX_MEMORY_SIZE must be larger than "
                               "EMEND_MAX_FRAGMENT_BYTES (a request carries the fragment)")
# A batch proposal's form (review/batches.py) posts one field per ticked match, up to
# review.batches.MAX_MATCHES (5,000): Django's default of 1,000 fields would refuse a large
# batch with a bare 400 before the view could say anything.
DATA_UPLOAD_MAX_NUMBER_FIELDS = env_int("DATA_UPLOAD_MAX_NUMBER_FIELDS", 10_000)
EMEND_SAMPLES_DIR = Path(env("EMEND_SAMPLES_DIR", str(BASE_DIR.parent / "shared" / "samples")))
# The OCR cross-check (edition/ocr/): the largest page image the server reads, how long it
# waits for a remote one (fetched only from an edition's facsimile hosts, over https unless
# EMEND_OCR_ALLOW_HTTP, which the tests set for their local server), and the OCR confidence
# (0-100) below which a disagreement is not worth an editor's time (measured: bench/ocr.py).
EMEND_OCR_MAX_IMAGE_BYTES = env_int("EMEND_OCR_MAX_IMAGE_BYTES", 40 * 1024 * 1024)
EMEND_OCR_FETCH_TIMEOUT = env_int("EMEND_OCR_FETCH_TIMEOUT", 30)
EMEND_OCR_ALLOW_HTTP = env_bool("EMEND_OCR_ALLOW_HTTP", False)
EMEND_OCR_MIN_CONFIDENCE = env_int("EMEND_OCR_MIN_CONFIDENCE", 60)
EMEND_OCR_THREADS = env_int("EMEND_OCR_THREADS", 1)  # Tesseract's threads per page
# TEI P5 tei_all, which every new revision must validate against (edition/gate.py). `make schema`
# installs it here, in the checkout (not EMEND_VAR_DIR): it is part of the installation, not data.
EMEND_TEI_SCHEMA = Path(env("EMEND_TEI_SCHEMA", str(BASE_DIR / "var" / "schemas" / "tei_all.rng")))

# Celery: a broker that needs no server unless CELERY_BROKER_URL says otherwise.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", "filesystem://")
# One attempt to connect when sending: a request that enqueues must not wait on a broker that is
# down (edition/tasks.py logs the failure; the sweep re-sends export requests). Workers keep
# retrying their own connection (CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP and Celery's default).
CELERY_BROKER_TRANSPORT_OPTIONS = {"max_retries": 0}
if CELERY_BROKER_URL == "filesystem://":
    _queue = VAR_DIR / "celery" / "queue"
    # kombu's file-system transport expects its folders to exist.
    for _folder in (_queue, VAR_DIR / "celery" / "processed"):
        _folder.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS |= {
        "data_folder_in": str(_queue),
        "data_folder_out": str(_queue),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),  # else ./control in the cwd
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
# The periodic sweep (run beat: `celery -A config beat`, or a worker with -B) re-sends export
# requests whose message was lost, takes over builds whose worker died, and prunes old builds.
CELERY_BEAT_SCHEDULE = {
    "sweep-exports": {"task": "edition.tasks.sweep_exports",
                      "schedule": float(env("EMEND_EXPORT_SWEEP_SECONDS", "60"))},
    "sweep-stuck-jobs": {"task": "edition.tasks.sweep_stuck_jobs",
                         "schedule": float(env("EMEND_STUCK_SWEEP_SECONDS", "300"))},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Enqueueing must never hang a web request when the broker is down.
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 2, "interval_start": 0, "interval_step": 0.5}
# Celery's Django fixup closes every database connection before and after each task unless this
# is set: every approval's task (page warming, then checks) then paid for a new PostgreSQL
# connection and a fresh backend. Set, the fixup recycles connections only every 2 × this many
# tasks; between, config/celery.py applies a web request's rules at each task's start and end
# (CONN_MAX_AGE, CONN_HEALTH_CHECKS, a connection left broken or in a transaction is closed).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 500)
# Readers first: a worker on the web processes' host yields the CPU to them. Added to the
# worker's niceness at its start (config/celery.py), so page warming, checks and builds run on
# what readers leave of the processors, and a reader's page never waits behind them; 0 leaves
# the worker as started (a host of its own). 19 measured best (bench/README.md, readers.py).
EMEND_WORKER_NICE = env_int("EMEND_WORKER_NICE", 19)

# Sessions are written to the database and read from the cache (the database when the cache
# misses or is down, edition/sessions.py): a signed-in page costs one query, its user.
SESSION_ENGINE = "edition.sessions"
# A signed-in reader's page of a unit answered from one cache read before the session, CSRF and
# auth middleware, checked as they would check it (edition/signedin.py); off: the whole stack.
EMEND_SIGNED_IN_FAST_PATH = env_bool("EMEND_SIGNED_IN_FAST_PATH", True)

# Production hardening (python manage.py check --deploy is clean with DEBUG off).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

# --- Security headers (issue 13) ---------------------------------------------------------------
# Content-Security-Policy (django-csp 4): no inline script or style, no code or frames from other
# origins; pages load their scripts and style sheets from static files. EMEND_CSP_IMG_SRC adds
# origins images may come from (comma-separated, e.g. https://static.history.state.gov for
# FRUS page images); none by default. Pages for signed-in users are marked `private`
# (edition/middleware.py).
EMEND_CSP_IMG_SRC = env_list("EMEND_CSP_IMG_SRC")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", *EMEND_CSP_IMG_SRC],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    },
}
# --- end of security headers -------------------------------------------------------------------

# Page images (issue 11): import_facsimile refuses a file larger than this, or an image with more
# pixels (a decompression bomb would take the worker's memory); the worker makes a display image
# this many pixels high (reading and OCR) and a thumbnail; a PDF's pages are rendered at this dpi.
EMEND_FACSIMILE_MAX_BYTES = env_int("EMEND_FACSIMILE_MAX_BYTES", 512 * 1024 * 1024)
EMEND_FACSIMILE_MAX_PIXELS = env_int("EMEND_FACSIMILE_MAX_PIXELS", 120_000_000)
EMEND_FACSIMILE_DISPLAY_HEIGHT = env_int("EMEND_FACSIMILE_DISPLAY_HEIGHT", 1600)
EMEND_FACSIMILE_THUMBNAIL_HEIGHT = env_int("EMEND_FACSIMILE_THUMBNAIL_HEIGHT", 200)
EMEND_FACSIMILE_PDF_DPI = env_int("EMEND_FACSIMILE_PDF_DPI", 200)
# An upload's page images, or a page's OCR, with no progress for this long is failed by the
# periodic sweep (its worker crashed or its message was lost) and offered for a retry. Generous:
# a page takes seconds, but a long OCR queue moves one page at a time (a queued read counts as
# stuck only when no page of its edition was read within this time either).
EMEND_STUCK_JOB_SECONDS = env_int("EMEND_STUCK_JOB_SECONDS", 2 * 3600)
# A volume's render check (edition/gate.py check_rendering) not done this long after it was sent
# is sent again by the same sweep: its message was lost or its worker died. A check run twice is
# harmless; a long queue that is still moving gets one more message per interval.
EMEND_RENDER_CHECK_RESEND_SECONDS = env_int("EMEND_RENDER_CHECK_RESEND_SECONDS", 15 * 60)

# Exports: builds older than this are pruned unless current (cited downloads keep working
# meanwhile); a build whose worker shows no sign of life for STALE seconds is taken over; an
# export request waits DEBOUNCE seconds so a burst of approvals makes one build.
EMEND_EXPORT_KEEP_DAYS = float(env("EMEND_EXPORT_KEEP_DAYS", "30"))
EMEND_EXPORT_STALE_SECONDS = float(env("EMEND_EXPORT_STALE_SECONDS", "300"))
EMEND_EXPORT_DEBOUNCE_SECONDS = float(env("EMEND_EXPORT_DEBOUNCE_SECONDS", "2"))
# ...but a steady stream of approvals still gets a build at least this often.
EMEND_EXPORT_MAX_WAIT_SECONDS = float(env("EMEND_EXPORT_MAX_WAIT_SECONDS", "10"))
# Which formats builds write, comma-separated (tei,html,txt,json,epub,pdf); empty: all.
EMEND_EXPORT_FORMATS = [f.strip() for f in env("EMEND_EXPORT_FORMATS").split(",") if f.strip()]

# Absolute address of the site, for links in e-mail.
EMEND_SITE_URL = env("EMEND_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "emend@localhost")

# Sign-in limits: django-axes, with the rules (per account, never per address alone) in
# review/signin.py. Counted in the database: every process shares the counts, and a cache outage
# changes nothing.
EMEND_SIGNIN_ATTEMPTS = env_int("EMEND_SIGNIN_ATTEMPTS", 5)  # failures per account and address
EMEND_SIGNIN_WINDOW = env_int("EMEND_SIGNIN_WINDOW", 15 * 60)  # seconds
# Reverse proxies in front of Emend that append to X-Forwarded-For the address they received from
# (nginx's $proxy_add_x_forwarded_for); Emend must be reachable only through them.
EMEND_TRUSTED_PROXIES = env_int("EMEND_TRUSTED_PROXIES",
                                1 if env_bool("BEHIND_PROXY", False) else 0)
INSTALLED_APPS += ["axes"]
MIDDLEWARE += ["axes.middleware.AxesMiddleware"]  # last: turns a refused sign-in into the 429 page
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked account before its password
    # ModelBackend with the person's row from the cache (no query per signed-in page). Sessions
    # store the backend's path: those signed in through "django.contrib.auth.backends.
    # ModelBackend" before it was named here sign in again once.
    "edition.auth.CachedModelBackend",
]
AXES_HANDLER = "review.signin.AttemptsPerAccount"
AXES_FAILURE_LIMIT = EMEND_SIGNIN_ATTEMPTS
AXES_COOLOFF_TIME = timedelta(seconds=EMEND_SIGNIN_WINDOW)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], ["username"]]  # what a success resets
AXES_USERNAME_CALLABLE = "review.signin.username"
AXES_LOCKOUT_CALLABLE = "review.signin.lockout_response"
AXES_RESET_ON_SUCCESS = True
# A refused try does not push the end of the lock back: retrying the right password while locked
# out costs the user nothing.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_DISABLE_ACCESS_LOG = True  # failures only; successful sign-ins are not logged
AXES_VERBOSE = False  # no banner in every process; log lines name the counted parameters
AXES_CLIENT_IP_CALLABLE = "review.signin.client_address"  # from EMEND_TRUSTED_PROXIES

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # WeasyPrint logs every page it lays out at INFO: 800 lines per volume PDF. Axes logs each
    # step of every sign-in at INFO; its warnings (a failure, a lock) are what matter.
    "loggers": {"weasyprint.progress": {"level": "WARNING"}, "axes": {"level": "WARNING"}},
}

# --- No 500 from any input (issue 13) ----------------------------------------------------------
# The API's parser refuses lone surrogates, NULs and JSON nested past the recursion limit
# (review/parsers.py); its schema is drf-spectacular's, served at /api/schema/ (docs/API.md).
REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"] = ["review.parsers.StrictJSONParser"]
REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"] = "drf_spectacular.openapi.AutoSchema"
REST_FRAMEWORK["SCHEMA_COERCE_PATH_PK"] = False  # the views and URLs name it pk
INSTALLED_APPS += ["drf_spectacular"]
SPECTACULAR_SETTINGS = {
    "TITLE": "Emend API",
    "DESCRIPTION": "Review of FRUS TEI editions: the published text, proposals and decisions "
                   "(docs/API.md).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
}
# --- end of issue 13 ---------------------------------------------------------------------------
