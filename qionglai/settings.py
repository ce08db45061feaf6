"""Settings, all from the environment (design §10).

Nothing set → the embedded default: SQLite, tasks run in-process, timers by `manage.py rundemo`.
DATABASE_URL → PostgreSQL; REDIS_URL → Redis as Celery broker, cache and lock store.
"""

import contextlib
import os
import sys
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import dj_database_url
import django
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool = False) -> bool:
    return os.environ.get(name, str(default)).strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# The embedded default runs without any secret configured; production must set one
# (`check --deploy` flags the insecure default).
SECRET_KEY = os.environ.get("SECRET_KEY", "django-insecure-embedded-default-change-me")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
SITE_NAME = "邛崃善治"
CITY_PATH = "510183"  # region code of 邛崃市; the root of every place path (design §3)

INSTALLED_APPS = [
    "qionglai.users.admin_apps.AdminConfig",  # django.contrib.admin on the OTP-verified site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "qionglai.core.apps.AxesConfig",  # django-axes, with a Chinese admin section title
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "qionglai.core",
    "qionglai.users",
    "projects",
    "grids",
    "consultation",
    "points",
    "qionglai.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # django-csp's, the unchanging policy built once per process (qionglai/core/middleware.py)
    "qionglai.core.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # pages go out gzipped (a phone on a slow link); Django masks the CSRF token per response,
    # which is what keeps compression from leaking it (BREACH)
    "django.middleware.gzip.GZipMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Django's and django-otp's, reading the user, grants and devices from the identity cache
    # when IDENTITY_CACHE is on (qionglai/users/identity.py)
    "qionglai.users.middleware.AuthenticationMiddleware",
    "qionglai.users.middleware.OTPMiddleware",
    "qionglai.users.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "qionglai.core.middleware.RefuseNulBytesMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "qionglai.core.middleware.ApplicationErrorMiddleware",
    # Last, as django-axes requires: it turns a locked-out login into the lockout response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "qionglai.urls"
WSGI_APPLICATION = "qionglai.wsgi.application"

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
                "qionglai.core.context_processors.navigation",
            ],
        },
    },
]

# A web process keeps its PostgreSQL connection for 10 minutes between requests: a request on a
# new backend waits for its catalog and relation caches (a dashboard answer computed on one took
# 82 ms against 40 ms on a warm one; the city's first request after the beat's minute 38–44 ms
# against 18 ms: docs/performance.md, dashboard round 7). The health check (qionglai/core/db)
# still replaces a connection the server has dropped, at the next request.
_conn_max_age = int(os.environ.get("DB_CONN_MAX_AGE", "600"))
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=_conn_max_age,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql") and env_bool(
    "DB_SERVER_SIDE_BINDING", False
):
    # psycopg 3 binding parameters on the server, and with DB_PREPARE_THRESHOLD (executions of
    # one statement text before psycopg prepares it on that connection) named prepared
    # statements: parse and plan once per connection. Off by default (Django's default: a
    # connection pooler in transaction mode cannot hold prepared statements); measured for
    # the incident list in docs/performance.md.
    DATABASES["default"].setdefault("OPTIONS", {})["server_side_binding"] = True
    if os.environ.get("DB_PREPARE_THRESHOLD", ""):
        DATABASES["default"]["OPTIONS"]["prepare_threshold"] = int(os.environ["DB_PREPARE_THRESHOLD"])
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves one process with a timer thread: wait for the write lock
    # instead of failing, and use WAL so readers never block the writer.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    # The list's and dashboard's covering indexes INCLUDE columns for PostgreSQL's index-only
    # scans; SQLite (the demo) builds their key columns and would say so sixteen times at
    # every migrate and runserver, burying the demo's own console lines.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
# The dashboard's reads may go to a read replica (qionglai/dashboard/routers.py); in tests the
# alias mirrors the test database.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL, conn_max_age=_conn_max_age, conn_health_checks=True
    )
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DASHBOARD_READ_REPLICA = bool(DATABASE_REPLICA_URL)
DATABASE_ROUTERS = ["qionglai.dashboard.routers.DashboardReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
IS_POSTGRES = DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql")
if IS_POSTGRES and env_bool("DB_SOCKET_HEALTH_CHECK", True):
    # Django's backend, whose per-request health check asks the kernel whether the server has
    # dropped the connection before it sends `SELECT 1` (qionglai/core/db/base.py)
    for _alias in DATABASES.values():
        if _alias["ENGINE"] == "django.db.backends.postgresql":
            _alias["ENGINE"] = "qionglai.core.db"

REDIS_URL = os.environ.get("REDIS_URL", "")
# `make test` runs the suite in parallel processes (pytest-xdist, gw0, gw1, …). Each takes its
# own PostgreSQL test database (pytest-django's suffix) and, here, its own Redis database,
# counting down from the one given (15 → 15, 14, …): a test that flushes Redis, counts keys or
# runs a Celery worker over the broker must never see the other process's. A worker process a
# test starts inherits both variables, so it lands on the same database as its test.
_xdist_worker = os.environ.get("PYTEST_XDIST_WORKER", "")
if REDIS_URL and _xdist_worker.startswith("gw"):
    _redis = urlsplit(REDIS_URL)
    _redis_db = int(_redis.path.strip("/") or 0) - int(_xdist_worker[2:])
    if _redis_db < 0:
        raise ImproperlyConfigured(f"REDIS_URL {REDIS_URL}: no Redis database left for {_xdist_worker}")
    REDIS_URL = urlunsplit(_redis._replace(path=f"/{_redis_db}"))
if REDIS_URL:
    CACHES = {
        "default": {
            # Django's, reusing one redis-py client per pool (qionglai/users/redis_cache.py)
            "BACKEND": "qionglai.users.redis_cache.RedisCache",
            "LOCATION": REDIS_URL,
            # a Redis that stops answering costs a request at most this long before the
            # identity cache and sessions read the database instead (never a hung worker)
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# A request's user, grants, second-factor devices and token state from one cache read, and
# the session from the cache (qionglai/users/identity.py, sessions.py): invalidated on every
# change after commit, 60 s TTL as a backstop. Off → every request reads them from the database.
# On by default only with a shared cache (Redis): a per-process LocMemCache would not see another
# process's invalidation (a `manage.py` command, a second web process) for up to the TTL.
IDENTITY_CACHE = env_bool("IDENTITY_CACHE", bool(REDIS_URL))
SESSION_ENGINE = "qionglai.users.sessions"

AUTH_USER_MODEL = "users.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "qionglai.users.backends.PhoneOrUsernameBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (design §12): failures are counted per (account, address) pair, so a
# stranger hammering someone's account from elsewhere cannot lock the owner out.
AXES_FAILURE_LIMIT = int(os.environ.get("LOGIN_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("LOGIN_COOLOFF_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind reverse proxies the client address is PROXY_COUNT hops back in X-Forwarded-For; axes
# and DRF's throttles (NUM_PROXIES) read it through the same rule (qionglai/users/client.py).
PROXY_COUNT = int(os.environ.get("PROXY_COUNT", "0"))
AXES_CLIENT_IP_CALLABLE = "qionglai.users.client.client_ip"
AXES_USERNAME_CALLABLE = "qionglai.users.client.lockout_account"
AXES_VERBOSE = False
# Login POSTs per client address on the HTML login page, whatever the account (a Chinese 429
# page with Retry-After past it; qionglai/users/throttle.py). Axes' lockout is per account.
LOGIN_PAGE_RATE = os.environ.get("THROTTLE_LOGIN_PAGE", "20/min")

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("简体中文")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", BASE_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "qionglai.core.staticstorage.StaticStorage"
            # collectstatic itself must run with the manifest storage, or the manifest is never
            # written and a fresh deployment serves unhashed, uncompressed files for ever
            if not DEBUG
            and env_bool("STATIC_MANIFEST", True)
            and ((STATIC_ROOT / "staticfiles.json").exists() or "collectstatic" in sys.argv)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = True  # the embedded default serves static files without collectstatic
# After collectstatic the manifest storage above gives every file a hashed name and a gzip and
# (with the brotli package) Brotli copy; WhiteNoise serves hashed names with a ten-year immutable
# cache lifetime.
# Names without a hash (favicon, the service worker's own URL is a view) get a day.
WHITENOISE_MAX_AGE = int(os.environ.get("STATIC_MAX_AGE", str(24 * 3600)))
# WhiteNoise warns at every start while STATIC_ROOT is missing (before the first collectstatic).
with contextlib.suppress(OSError):
    STATIC_ROOT.mkdir(exist_ok=True)

DATA_UPLOAD_MAX_MEMORY_SIZE = 12 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_IMAGE_BYTES = int(os.environ.get("UPLOAD_MAX_IMAGE_BYTES", str(10 * 1024 * 1024)))
# 16 Mpx covers any phone camera's normal mode (pages scale photos to 1,600 px anyway); at 40 Mpx
# a 105 KB PNG of 36 Mpx cost ~280 MB to decode and re-encode (issue #12 §5).
UPLOAD_MAX_IMAGE_PIXELS = int(os.environ.get("UPLOAD_MAX_IMAGE_PIXELS", str(16_000_000)))

# Mail: the console in the embedded default; SMTP when EMAIL_HOST is set. Django 6.1 configures
# mail through MAILERS (EMAIL_* deprecated); 5.2 LTS, the Python 3.11 fallback, only has EMAIL_*.
_mail_backend = (
    "django.core.mail.backends.smtp.EmailBackend"
    if os.environ.get("EMAIL_HOST")
    else os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
)
_smtp = {
    "host": os.environ.get("EMAIL_HOST", "localhost"),
    "port": int(os.environ.get("EMAIL_PORT", "25")),
    "username": os.environ.get("EMAIL_HOST_USER", ""),
    "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
    "use_tls": env_bool("EMAIL_USE_TLS", False),
}
if django.VERSION >= (6, 1):
    MAILERS = {
        "default": {"BACKEND": _mail_backend, "OPTIONS": _smtp if os.environ.get("EMAIL_HOST") else {}}
    }
else:
    EMAIL_BACKEND = _mail_backend
    if os.environ.get("EMAIL_HOST"):
        EMAIL_HOST, EMAIL_PORT = _smtp["host"], _smtp["port"]
        EMAIL_HOST_USER, EMAIL_HOST_PASSWORD, EMAIL_USE_TLS = (
            _smtp["username"],
            _smtp["password"],
            _smtp["use_tls"],
        )
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "noreply@qionglai.local")

# --- security (production: DEBUG off → every switch `check --deploy` asks for) -----------
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False  # the htmx/fetch helpers read the token from the cookie
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# The embedded default (no DATABASE_URL) is the demo on http://127.0.0.1:8000: a Secure cookie
# is never sent back over plain http by Safari or by a browser on another machine of the LAN,
# so there sign-in would fail with a CSRF error. A deployment (DATABASE_URL set) keeps them.
if not DEBUG and env_bool("SECURE_COOKIES", bool(os.environ.get("DATABASE_URL"))):
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
if not DEBUG and env_bool("HTTPS", False):
    SECURE_SSL_REDIRECT = True
    SECURE_HSTS_SECONDS = int(os.environ.get("HSTS_SECONDS", str(365 * 24 * 3600)))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# --- access and trust (design §12; issue #12) ----------------------------------------------
# Second factor for staff and grid workers: sign-ins an unenrolled staff account may make
# before enrolment is forced. 0 in production; unlimited ("unlimited" or unset) in the embedded
# demo, so its logins work at once (README: how to enrol).
_EMBEDDED = not os.environ.get("DATABASE_URL")
_grace = os.environ.get("OTP_GRACE_LOGINS", "unlimited" if _EMBEDDED else "0").strip().lower()
OTP_GRACE_LOGINS: int | None = None if _grace in {"", "unlimited", "none"} else int(_grace)
OTP_TOTP_ISSUER = "邛崃善治"
OTP_TOTP_THROTTLE_FACTOR = 1  # seconds, doubled after each wrong code (django-otp)
OTP_STATIC_THROTTLE_FACTOR = 1
API_TOKEN_DAYS = int(os.environ.get("API_TOKEN_DAYS", "30"))
# Content-Security-Policy (django-csp): scripts and style sheets from this site only; every
# page script is a static file (static/js/), so no inline script is needed, and no style
# attribute either (templates use classes; scripts set styles through the CSSOM, which the
# policy allows; ECharts draws its tooltips on the canvas).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "style-src-elem": ["'self'"],
        "style-src-attr": ["'none'"],
        "img-src": ["'self'", "data:", "blob:"],
        "media-src": ["'self'", "blob:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

# --- REST API (design §9) ---------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "qionglai.users.authentication.VerifiedSessionAuthentication",
        "qionglai.users.authentication.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "qionglai.core.api.Pagination",
    "DEFAULT_SCHEMA_CLASS": "qionglai.core.schema.AutoSchema",
    "EXCEPTION_HANDLER": "qionglai.core.api.exception_handler",
    "DEFAULT_PARSER_CLASSES": [
        "qionglai.core.parsers.JSONParser",  # refuses deep nesting with a 400
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_THROTTLE_CLASSES": [
        # DRF's, with every rate of a request checked in one Redis round trip
        "qionglai.users.throttle.AnonRateThrottle",
        "qionglai.users.throttle.UserRateThrottle",
        "qionglai.users.throttle.ScopedRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {
        "anon": os.environ.get("THROTTLE_ANON", "120/min"),
        "user": os.environ.get("THROTTLE_USER", "1200/min"),
        # per-operation limits (a view's `throttle_scope`), on top of the two above
        "token": os.environ.get("THROTTLE_TOKEN", "20/min"),
        "report": os.environ.get("THROTTLE_REPORT", "30/min"),
        "redemption": os.environ.get("THROTTLE_REDEMPTION", "30/min"),
        "donation": os.environ.get("THROTTLE_DONATION", "30/min"),
    },
    # the client address behind the proxies, as axes reads it (design §12)
    "NUM_PROXIES": PROXY_COUNT,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "邛崃善治 API",
    "DESCRIPTION": "网格事件、邻聚小圆桌、积分与台账的 REST API（/api/v1/）",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # tags, error responses and the Error component (qionglai/core/schema.py)
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "qionglai.core.schema.postprocess",
    ],
    # Every app has its own `status`/`kind`: name each choice set after its class, so API
    # clients get stable component names instead of hashed ones ("Kind0ddEnum").
    "ENUM_NAME_OVERRIDES": {
        "AccountKindEnum": "points.models.AccountKind",
        "AccountStatusEnum": "points.models.AccountStatus",
        "CapPeriodEnum": "points.models.CapPeriod",
        "ChannelEnum": "grids.models.Channel",
        "ChoiceKindEnum": "consultation.models.ChoiceKind",
        "ClaimStatusEnum": "points.models.ClaimStatus",
        "CommunityKindEnum": "projects.models.CommunityKind",
        "CompoundKindEnum": "projects.models.CompoundKind",
        "ContributionBasisEnum": "projects.models.ContributionBasis",
        "DayKindEnum": "grids.models.DayKind",
        "DoctorRoleEnum": "grids.models.DoctorRole",
        "DurationUnitEnum": "grids.models.DurationUnit",
        "EventKindEnum": "consultation.models.EventKind",
        "ExcludeScopeEnum": "points.models.ExcludeScope",
        "ExpiryModeEnum": "points.models.ExpiryMode",
        "ExtensionStatusEnum": "grids.models.ExtensionStatus",
        "FundEntryKindEnum": "projects.models.FundEntryKind",
        "GovernanceModeEnum": "projects.models.GovernanceMode",
        "GridKindEnum": "grids.models.GridKind",
        "GridModeEnum": "grids.models.GridMode",
        "GridPostEnum": "qionglai.users.models.GridPost",
        "HolderClassEnum": "points.models.HolderClass",
        "IncidentStageEnum": "grids.models.Stage",
        "IncidentStatusEnum": "grids.models.Status",
        "InviteeCategoryEnum": "consultation.models.InviteeCategory",
        "MeetingStatusEnum": "consultation.models.MeetingStatus",
        "MerchantKindEnum": "points.models.MerchantKind",
        "MotionStatusEnum": "consultation.models.MotionStatus",
        "ObjectionStatusEnum": "points.models.ObjectionStatus",
        "OutcomeKindEnum": "consultation.models.OutcomeKind",
        "OutcomeStatusEnum": "consultation.models.OutcomeStatus",
        "PassBasisEnum": "consultation.models.PassBasis",
        "PhotoKindEnum": "grids.models.PhotoKind",
        "PlanPhaseEnum": "projects.models.PlanPhase",
        "ProblemSourceEnum": "projects.models.ProblemSource",
        "ProblemStatusEnum": "projects.models.ProblemStatus",
        "QuorumBasisEnum": "consultation.models.QuorumBasis",
        "RecordKindEnum": "consultation.models.RecordKind",
        "RedemptionStatusEnum": "points.models.RedemptionStatus",
        "RenewalKindEnum": "projects.models.RenewalKind",
        "RenewalStatusEnum": "projects.models.RenewalStatus",
        "ReserveKindEnum": "grids.models.ReserveKind",
        "RoleEnum": "qionglai.users.models.Role",
        "RuleListEnum": "points.models.RuleList",
        "SatisfactionEnum": "grids.models.Satisfaction",
        "StepKindEnum": "consultation.models.StepKind",
        "TierEnum": "grids.models.Tier",
        "TopicScopeEnum": "consultation.models.TopicScope",
        "TopicSourceEnum": "consultation.models.TopicSource",
        "TopicStatusEnum": "consultation.models.TopicStatus",
        "TownKindEnum": "projects.models.TownKind",
        "TxKindEnum": "points.models.TxKind",
        "UrgencyEnum": "grids.models.Urgency",
    },
}


# --- Celery (design §10): Redis in production; in-process when no broker is configured ---
# the in-memory transport still wants a host name; without one kombu warns on every task
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 300
CELERY_TASK_SOFT_TIME_LIMIT = 240
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# With late acks a killed worker's unacknowledged message is redelivered only after the
# visibility timeout (Redis transport default: one hour). A few minutes, longer than the task
# time limit so a running task is never handed out twice while it still runs.
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": int(os.environ.get("CELERY_VISIBILITY_TIMEOUT", "360")),
}
# Timers are due-date columns swept by these beat tasks (conventions: never a long countdown).
# `manage.py rundemo` runs the same schedule in-process on the embedded default.
CELERY_BEAT_SCHEDULE = {
    "heartbeat": {"task": "qionglai.core.tasks.heartbeat", "schedule": 60.0},
    # the notification outbox: whatever no delivery task delivered (design §12)
    "core-sweep-notices": {"task": "qionglai.core.tasks.sweep_notices", "schedule": 60.0},
    "grids-escalation-scan": {"task": "grids.tasks.escalation_scan", "schedule": 60.0},
    "grids-auto-close-scan": {"task": "grids.tasks.auto_close_scan", "schedule": 60.0},
    "grids-sweep-escalation-notices": {"task": "grids.tasks.sweep_escalation_notices", "schedule": 60.0},
    # a photo whose processing task was lost (Redis down at commit) is sent again
    "grids-resend-stuck-photos": {"task": "grids.tasks.resend_stuck_photos", "schedule": 300.0},
    "consultation-close-due-publicity": {
        "task": "consultation.tasks.close_due_publicity",
        "schedule": 60.0,
    },
    # points: publicity windows close, uncollected orders refund, expiry schemes run
    "points-close-publicity": {"task": "points.tasks.close_publicity", "schedule": 60.0},
    "points-expire-redemptions": {"task": "points.tasks.expire_redemptions", "schedule": 300.0},
    "points-expire-points": {"task": "points.tasks.expire_points", "schedule": 3600.0},
    # dashboard rollups: the days changed since the last fill, rewritten (design §8)
    "dashboard-fill": {"task": "qionglai.dashboard.tasks.dashboard_fill", "schedule": 60.0},
}
TASK_HEARTBEAT_MAX_AGE = 180  # seconds; /healthz reports the task runner down past this
DASHBOARD_MAX_LAG = 300  # seconds; /healthz answers 503 when the rollups are further behind
# Optional background tiles for the micro-grid map, and their datum: "wgs84" or "gcj02" (most
# Chinese providers); boundaries are stored in WGS-84 and converted on the page for gcj02.
DASHBOARD_TILE_URL = os.environ.get("DASHBOARD_TILE_URL", "")
DASHBOARD_TILE_DATUM = os.environ.get("DASHBOARD_TILE_DATUM", "wgs84")
if DASHBOARD_TILE_URL:  # the tile host may serve images to the map page (CSP img-src)
    from urllib.parse import urlsplit

    _tiles = urlsplit(DASHBOARD_TILE_URL)
    CONTENT_SECURITY_POLICY["DIRECTIVES"]["img-src"].append(
        f"{_tiles.scheme}://{_tiles.netloc.replace('{s}', '*')}"
    )

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "celery.app.trace": {"level": "WARNING"},  # one line per timer tick is noise, failures still show
    },
}
