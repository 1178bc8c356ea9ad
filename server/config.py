"""Every setting of Gridlight and its default, in one place.

Precedence, lowest first (:func:`load`, used by :func:`server.create_app` and by the processes
that run without an app, such as ``python -m server ingest``):

1. these defaults;
2. the environment: every ``GRIDLIGHT_*`` variable with the prefix stripped (e.g.
   ``GRIDLIGHT_DATA_DIR`` → ``DATA_DIR``; values parsed as JSON when they are JSON), plus the
   conventional ``PORT``, ``REDIS_URL``, ``MQTT_URL`` and ``DATABASE_URL``;
3. the ``overrides`` mapping (``create_app(test_config)``), which wins.

The sections below follow the packages that read them: streaming, widget and pushes, ingest and
storage, alerts, monthly reports. Secrets (``SMTP_PASSWORD``, ``TWILIO_AUTH_TOKEN``) come from the environment or
the files their ``*_FILE`` settings name, never from the repository; so does ``SECRET_KEY``
(``SECRET_KEY_FILE``, else a file created under ``DATA_DIR``).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Config

#: TCP port the server listens on (gunicorn's bind; informational inside the app).
PORT = 5000
#: ``redis://...`` switches the broker to Redis Streams; ``None`` keeps the in-process broker.
REDIS_URL: str | None = None
#: ``mqtt://...`` turns on MQTT ingest (its own issue); unused by the stream server.
MQTT_URL: str | None = None
#: The installation's database: ``None`` is the embedded SQLite file ``DATA_DIR/gridlight.sqlite3``;
#: ``postgresql://user:password@host/db`` is shared by every host of a deployment.
DATABASE_URL: str | None = None
#: Directory holding the datasets (each a sub-directory with ``households.json``) and SQLite.
DATA_DIR = "data"
#: Demo mode: replayed households readable by anyone, ``*`` CORS on read-only routes, and (with
#: the in-process broker) the demo households replayed inside the worker.
DEMO = False
#: Dataset (sub-directory of DATA_DIR) and households the demo replays.
DEMO_DATASET = "demo"
DEMO_HOUSEHOLDS = ["A", "B", "C"]
#: Replay the demo inside the worker; ``None`` means "when DEMO and the broker is in-process".
EMBEDDED_REPLAY: bool | None = None
#: Virtual seconds per real second of the embedded replay.
REPLAY_SPEED = 1.0
#: Comma-separated origins allowed by CORS (``*`` for any); demo mode adds ``*`` for reads.
CORS_ORIGINS = ""
#: Readings kept per household on the broker: about a day of 1 Hz readings.
HISTORY_LEN = 86_400
#: Events buffered per client before it counts as too slow and is disconnected.
CLIENT_QUEUE_LEN = 256
#: Seconds between ``: ping`` comments on an idle stream.
PING_INTERVAL_S = 15.0
#: ``retry:`` sent to EventSource clients first thing. [ms]
RETRY_MS = 3000
#: A window of a silent meter is closed (values null) this long after its end. [s]
SILENT_GRACE_S = 10.0
#: Largest averaging interval accepted. [s]
MAX_INTERVAL_S = 86_400
#: Largest replay speed accepted (virtual seconds per real second).
MAX_SPEED = 1000.0
#: In-process listeners (alerts, pushes) ask again this often for statistics a household does not
#: have yet (a live one still learning) [s], and refresh known ones this often [s].
FOLLOW_STATS_RETRY_S = 30.0
FOLLOW_STATS_REFRESH_S = 3600.0
#: Largest ``?limit`` of a bounded stream (reading events in one response).
MAX_STREAM_LIMIT = 100_000
#: Furthest ``?until`` of a bounded stream, counted from the request. [s]
MAX_STREAM_UNTIL_S = 86_400
#: Directory for the quick-statistics cache; ``None`` means ``DATA_DIR/.cache/stats``.
STATS_CACHE_DIR: str | None = None
#: In demo mode, precompute the demo households' statistics at common intervals on start-up.
WARM_STATS = True


# -- widget and pushes (the widget API, server.push) ----------------------------------------
#: ``?interval`` of ``GET …/widget`` when absent [s]
WIDGET_INTERVAL_S = 60
#: Largest ``?interval`` of the widget and its page [s]
WIDGET_MAX_INTERVAL_S = 3600
#: The ``/widget/{h}`` page's interval when absent; ``None``: 5 in demo mode, else 60 [s]
WIDGET_PAGE_INTERVAL_S: int | None = None
#: ``None``: push when FCM credentials are configured
PUSH_ENABLED: bool | None = None
#: Windows the widget push policy watches (the app's ``interval=60``) [s]
PUSH_INTERVAL_S = 60
#: Windows a change to green/yellow must hold before a push
PUSH_HOLD_WINDOWS = 3
#: Pushes waiting for the sender before new ones are dropped
PUSH_QUEUE_LEN = 1000
#: Lease renewal and device re-scan period of the push sender [s]
PUSH_SYNC_S = 5.0
#: Redis lease lifetime: a dead sender is replaced after it [s]
PUSH_LEASE_TTL_S = 15.0
#: Service-account JSON; ``None``: ``$GOOGLE_APPLICATION_CREDENTIALS``
FCM_CREDENTIALS: str | None = None
#: FCM endpoint override (``GRIDLIGHT_FCM_BASE_URL``), e.g. a test server
FCM_BASE_URL: str | None = None
#: Per FCM HTTP request [s]
FCM_TIMEOUT_S = 10.0
#: Retries of 5xx / connection errors per message
FCM_RETRIES = 2
#: Backoff factor between those retries [s]
FCM_BACKOFF_S = 0.5
#: Web Push (the dashboard as an installed web app): the VAPID ``sub`` claim push services may
#: contact (``mailto:`` or ``https:``); its key pair is derived from SECRET_KEY
WEBPUSH_SUBJECT = "mailto:gridlight@localhost"
#: How long a push service keeps an alert for a browser that is offline [s]
WEBPUSH_TTL_S = 3600
#: Subscriptions kept per household (the oldest go first)
WEBPUSH_MAX_PER_HOUSEHOLD = 100

# -- ingest and storage (server.ingest, server.storage) ---------------------------------------
#: Raw 1 s readings kept (7 days) [s]
RAW_RETENTION_S = 7 * 86_400
#: 1-minute rollups kept (a year) [s]
ROLLUP_RETENTION_S = 365 * 86_400
#: Rejected payloads kept (30 days) [s]
DEAD_LETTER_RETENTION_S = 30 * 86_400
#: Retention runs once per this period per database [s]
RETENTION_EVERY_S = 3600
#: Run the retention job in the web workers' services
RETENTION_ENABLED = True
#: Readings per HTTP request (413 beyond)
INGEST_MAX_READINGS = 10_000
#: Bytes per HTTP request body (413 beyond)
INGEST_MAX_BODY_BYTES = 8 * 1024 * 1024
#: MQTT readings per storage transaction
INGEST_BATCH_READINGS = 2000
#: Longest wait before a partial batch is written [ms]
INGEST_BATCH_MS = 50
#: Run the MQTT subscriber in this worker; ``None``: when ``MQTT_URL`` is set and ``REDIS_URL``
#: is not
INGEST_EMBEDDED: bool | None = None
#: Fixed id of the persistent MQTT session
MQTT_CLIENT_ID = "gridlight-ingest"
#: How long the MQTT broker keeps the session while we are away [s]
MQTT_SESSION_EXPIRY_S = 7 * 86_400
#: Unacknowledged messages the MQTT broker may send ahead
MQTT_RECEIVE_MAXIMUM = 10_000
#: Stored seconds a live household needs for statistics [s]
LIVE_STATS_MIN_S = 3600
#: How often a live household's statistics' history is re-read [s]
LIVE_HISTORY_REFRESH_S = 3600

# -- live disaggregation (server.estimates) -------------------------------------------------------
#: ``None``: run the live estimator unless ``TESTING`` (tests turn it on)
NILM_ENABLED: bool | None = None
#: Lease renewal and attached-models reload period [s]
NILM_SYNC_S = 5.0
#: Lease lifetime [s]
NILM_LEASE_TTL_S = 15.0

# -- alerts (server.alerts) -------------------------------------------------------------------
#: ``None``: run the evaluator unless ``TESTING`` (tests turn it on)
ALERTS_ENABLED: bool | None = None
#: Windows the rules judge [s]
ALERTS_INTERVAL_S = 60
#: Lease renewal, settings reload, household scan period [s]
ALERTS_SYNC_S = 5.0
#: Redis lease lifetime [s]
ALERTS_LEASE_TTL_S = 15.0
#: Per delivery attempt (SMTP, HTTP) [s]
ALERTS_TIMEOUT_S = 10.0
#: First retry backoff, doubling [s]
ALERTS_BACKOFF_S = 0.5
#: Deliveries in flight
ALERTS_WORKERS = 8
#: Alert log retention run period (claimed once across processes) [s]
ALERTS_RETENTION_EVERY_S = 3600
#: SMTP relay (email off without a host), port, sender and TLS settings
SMTP_HOST: str | None = None
SMTP_PORT = 587
SMTP_FROM = "alerts@gridlight.invalid"
SMTP_STARTTLS = False
SMTP_SSL = False
SMTP_CA_FILE: str | None = None
SMTP_USERNAME: str | None = None
SMTP_PASSWORD: str | None = None
SMTP_PASSWORD_FILE: str | None = None
#: Twilio account for SMS (off without the account, sender and token); the base URL points the
#: client at a stand-in in tests
TWILIO_ACCOUNT_SID: str | None = None
TWILIO_AUTH_TOKEN: str | None = None
TWILIO_AUTH_TOKEN_FILE: str | None = None
TWILIO_FROM: str | None = None
TWILIO_BASE_URL = "https://api.twilio.com"

# -- control and scheduling (server/control) ----------------------------------------------------
#: Run the control leader (command sender, Home Assistant state, schedules, automations) in the
#: worker's services; ``None``: unless ``TESTING`` (tests turn it on)
CONTROL_ENABLED: bool | None = None
#: A command not acknowledged by its device within this is ``expired`` (default of its ``ttl_s``) [s]
CONTROL_COMMAND_TTL_S = 300
#: First resend of an unacknowledged command after this, doubling up to the cap [s]
CONTROL_RETRY_S = 2.0
CONTROL_RETRY_MAX_S = 60.0
#: Lease renewal and command sweep period of the control leader [s]
CONTROL_SYNC_S = 1.0
#: Redis lease lifetime of the control leader [s]
CONTROL_LEASE_TTL_S = 15.0
#: Windows the leader follows for Home Assistant states and automations [s]
CONTROL_INTERVAL_S = 60
#: Publish Home Assistant MQTT discovery payloads and states (with ``MQTT_URL``)
CONTROL_HA_DISCOVERY = True
#: Home Assistant's discovery prefix
CONTROL_HA_PREFIX = "homeassistant"
#: In demo mode, the demo households' geyser and AC are simulated devices that answer commands
#: (over MQTT with ``MQTT_URL``, else in-process): ``server/control/demo.py``
CONTROL_DEMO_DEVICES = True
#: Schedules: planning step [s], horizon [h], a house's connection limit when none is given [kW]
SCHEDULE_STEP_S = 900
SCHEDULE_HORIZON_H = 24
SCHEDULE_CONNECTION_LIMIT_KW = 7.0
#: How often the leader checks whether a schedule's prices or forecast changed (re-plan) [s]
SCHEDULE_REPLAN_S = 900
# -- insights (server.insights) ---------------------------------------------------------------
#: ``None``: run the leader's refresh job (data arrival, hourly at most, and daily) unless
#: ``TESTING`` (tests turn it on)
INSIGHTS_ENABLED: bool | None = None
#: Windows the data-arrival listener follows (seed 000's ``energy_data_received``) [s]
INSIGHTS_INTERVAL_S = 60
#: Lease renewal and refresh check period of the leader [s]
INSIGHTS_SYNC_S = 5.0
#: Redis lease lifetime of the refresh job [s]
INSIGHTS_LEASE_TTL_S = 15.0
#: A household's insights are refreshed at most this often as data arrives [s]
INSIGHTS_REFRESH_MIN_S = 3600
#: ... and at least this often [s]
INSIGHTS_REFRESH_DAILY_S = 86_400
#: A live household's forecast model is refitted when it is this old [s]
INSIGHTS_RETRAIN_S = 86_400
#: Longest a request waits for a household's readings to be read before a 503 [s]
INSIGHTS_WAIT_S = 30.0
#: How often every worker looks for new insights to announce on its streams [s]
INSIGHTS_ANNOUNCE_S = 5.0
#: Days of a live household's stored 1-minute rollups read for its insights
INSIGHTS_HISTORY_DAYS = 365
#: Live carbon-intensity feed (HTTP JSON; server.insights.feeds); ``None``: the shipped table
CARBON_FEED_URL: str | None = None
#: Its polling period and per-request timeout [s]
CARBON_FEED_EVERY_S = 300.0
CARBON_FEED_TIMEOUT_S = 10.0
#: Live carbon intensity from this MQTT topic on ``MQTT_URL`` (the same documents as the HTTP
#: feed; wildcards allowed, e.g. ``grid/carbon/+``); ``None``: none
CARBON_FEED_TOPIC: str | None = None
#: Hourly prices for dynamic tariffs with ``"feed": true``: an http(s) URL or a file of JSON
#: (``{"prices": [{"ts", "price_per_kwh"}]}``) or CSV (``ts,price_per_kwh``); polled every
#: ``PRICE_FEED_EVERY_S`` by each worker, the last good prices kept when it fails
PRICE_FEED_URL: str | None = None
PRICE_FEED_EVERY_S = 900.0
PRICE_FEED_TIMEOUT_S = 10.0
# -- end insights -----------------------------------------------------------------------------
# -- monthly reports (server.reports) ---------------------------------------------------------
#: ``None``: run the report scheduler unless ``TESTING`` (tests start it themselves)
REPORTS_ENABLED: bool | None = None
#: How often the scheduler looks for months that have ended (and renews its lease) [s]
REPORTS_CHECK_S = 60.0
#: Redis lease lifetime of the scheduler [s]
REPORTS_LEASE_TTL_S = 120.0
#: Processes that render PDFs (a pool, never a request greenlet); 0: in the scheduler's thread
REPORTS_WORKERS = 1
#: How the pool starts its processes: ``spawn`` or ``forkserver`` (never ``fork``: workers run
#: gevent)
REPORTS_POOL_CONTEXT = "spawn"
#: Months caught up after downtime, counted back from the last one that ended
REPORTS_CATCH_UP_MONTHS = 12
#: A claimed month not finished within this long (a process died) may be claimed again [s]
REPORTS_CLAIM_TTL_S = 3600.0
#: Attempts per report email, and the first pause between them (doubling) [s]
REPORTS_EMAIL_ATTEMPTS = 3
REPORTS_EMAIL_BACKOFF_S = 5.0

# -- accounts (server.accounts) ---------------------------------------------------------------
#: Signs session cookies and email links, and keys the email lookup hash. ``None`` (and no
#: ``SECRET_KEY_FILE``): read from ``DATA_DIR/secret_key``, created there (0600) on first start
#: with a warning to back it up (a new one signs everyone out and breaks email lookups).
SECRET_KEY: str | None = None
SECRET_KEY_FILE: str | None = None
#: The browser session cookie: its name, HttpOnly and SameSite; Secure when this is true or the
#: request came over TLS (``X-Forwarded-Proto: https`` from the proxy counts)
SESSION_COOKIE_NAME = "gridlight_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False
#: A session ends this long after sign-in (the signed cookie's age is checked) [s]
PERMANENT_SESSION_LIFETIME = 14 * 86_400
#: Where the links in verification and password-reset emails point (the dashboard's origin);
#: ``None``: the origin of the request that asked for the email
ACCOUNTS_BASE_URL: str | None = None
#: Lifetime of an email verification link and of a password-reset link [s]
ACCOUNTS_VERIFY_TTL_S = 3 * 86_400
ACCOUNTS_RESET_TTL_S = 3600
#: Sender of the accounts' emails; ``None``: ``SMTP_FROM``
ACCOUNTS_MAIL_FROM: str | None = None
#: argon2id cost of password hashes: passes and memory [KiB] (argon2-cffi's defaults, RFC 9106's
#: low-memory profile); tests lower them
ARGON2_TIME_COST = 3
ARGON2_MEMORY_KIB = 65_536
ARGON2_PARALLELISM = 4
# -- privacy (server.storage.crypto, server.storage.consent) ------------------------------------
#: The master key (32 bytes as base64, or 64 hex digits) that wraps the data keys encrypting
#: personal data at rest. ``None``: ``DATA_DIR/master_key``, created (0600) on first start with a
#: warning to back it up. Hosts sharing PostgreSQL must share it.
MASTER_KEY_FILE: str | None = None
#: The master key as a value instead of a file (a platform's generated secret, e.g. Render's
#: ``generateValue``): 32 bytes as base64 or hex, or a random text of 32+ characters (HKDF)
MASTER_KEY: str | None = None
#: The version of the consent wording shown to owners (recorded with each consent given)
CONSENT_VERSION = "2026-12"
# -- end accounts ------------------------------------------------------------------------------

# -- OAuth 2.0 (server.accounts.oauth) and rate limits (server.limits) ---------------------------
#: Lifetimes of an authorization code, an access token and a refresh token [s]; a refresh token
#: is rotated at each use (the old one stops working; reusing it revokes the whole chain)
OAUTH_CODE_TTL_S = 600
OAUTH_ACCESS_TTL_S = 3600
OAUTH_REFRESH_TTL_S = 30 * 86_400
#: The issuer named by ``/.well-known/oauth-authorization-server`` (``https://host``);
#: ``None``: the origin of the request (behind a proxy, set it)
OAUTH_ISSUER: str | None = None
#: Where ``GET /oauth/authorize`` sends a visitor who is not signed in (``?next=`` appended)
OAUTH_SIGN_IN_PAGE = "/dashboard/sign-in"
#: Rate limits (Flask-Limiter's notation, per client address); counted in Redis when
#: ``REDIS_URL`` is set (shared by workers and hosts), else in the worker's memory. Exceeded:
#: 429 ``rate_limited`` with ``Retry-After``.
RATELIMIT_ENABLED = True
#: ``POST /api/v1/session`` (sign-in attempts)
RATELIMIT_SIGN_IN = "10 per minute;100 per hour"
#: ``POST /api/v1/password-reset`` and ``…/confirm``
RATELIMIT_PASSWORD_RESET = "5 per minute;30 per hour"
#: ``POST /oauth/token`` and ``POST /oauth/revoke``
RATELIMIT_TOKEN = "30 per minute"
#: Failed household-key and bearer-token checks (good keys are never counted, so meters and
#: streams are not slowed)
RATELIMIT_KEY_FAILURES = "30 per minute;300 per hour"
#: Storage of the counts; ``None``: ``REDIS_URL`` when set, else ``memory://``
RATELIMIT_STORAGE_URI: str | None = None
#: Proxies in front of the app whose ``X-Forwarded-For`` is trusted to name the client (0: the
#: connection's address is the client's; behind one reverse proxy, 1)
RATELIMIT_TRUSTED_PROXIES = 0
# -- end OAuth and rate limits -------------------------------------------------------------------

#: Settings taken from the environment without the ``GRIDLIGHT_`` prefix.
conventional_env = ("PORT", "REDIS_URL", "MQTT_URL", "DATABASE_URL")


def defaults() -> dict[str, Any]:
    """Every setting's default (the upper-case names of this module)."""
    module = sys.modules[__name__]
    return {name: getattr(module, name) for name in dir(module) if name.isupper()}


def load(overrides: Mapping[str, Any] | None = None) -> Config:
    """The configuration: defaults, then the environment, then ``overrides`` (see above)."""
    cfg = Config(Path(__file__).parent)
    cfg.from_object(__name__)
    cfg.from_prefixed_env("GRIDLIGHT")
    for name in conventional_env:
        if os.environ.get(name):
            cfg[name] = int(os.environ[name]) if name == "PORT" else os.environ[name]
    if overrides is not None:
        cfg.update(overrides)
    cfg["DEMO_HOUSEHOLDS"] = household_list(cfg["DEMO_HOUSEHOLDS"])
    if cfg["WIDGET_PAGE_INTERVAL_S"] is None:
        cfg["WIDGET_PAGE_INTERVAL_S"] = 5 if cfg["DEMO"] else 60
    if cfg.get("MAX_CONTENT_LENGTH") is None:
        cfg["MAX_CONTENT_LENGTH"] = int(cfg["INGEST_MAX_BODY_BYTES"])
    return cfg


def household_list(raw: object) -> tuple[str, ...]:
    """``DEMO_HOUSEHOLDS`` as ids: a list, or text that is a JSON list or ids separated by commas
    or spaces (``GRIDLIGHT_DEMO_HOUSEHOLDS="A,B"`` is not JSON, so Flask leaves it a string, and
    ``"B" in "A,B-2"`` would match part of an id)."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raw = raw.replace(",", " ").split()
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list | tuple | set | frozenset):
        raise ValueError(f"DEMO_HOUSEHOLDS must be a list of household ids, got {raw!r}")
    return tuple(str(h) for h in raw)


def secret(cfg: Mapping[str, Any], name: str) -> str | None:
    """``cfg[name]``, else the contents of the file ``cfg[name + "_FILE"]`` (stripped); ``None``
    when neither is set (passwords, tokens and keys never sit in the repository)."""
    if cfg.get(name):
        return str(cfg[name])
    path = cfg.get(name + "_FILE")
    if path:
        return Path(path).read_text(encoding="utf-8").strip()
    return None
