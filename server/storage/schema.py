"""Every table of an installation, as SQLAlchemy Core metadata (one schema for SQLite and
PostgreSQL; alembic's migrations under ``server/storage/migrations`` create and change it, and
a test checks that the migrated database matches this module).

Units and conventions: ``*_s`` are UTC epoch seconds (integers for readings' seconds, floats
where sub-second times matter), ``power_kw``/``*_kw`` kW, JSON documents as text, and a missing
reading NULL, never zero. On PostgreSQL ``readings``, ``rollups_1m`` and ``rollups_15m`` are
partitioned by month on ``ts_s`` (:mod:`server.storage.partitions` creates and drops the
partitions).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
)

__all__ = ["metadata"]

metadata = MetaData()

#: An autoincrementing id: INTEGER PRIMARY KEY (the rowid) on SQLite, BIGINT identity on PostgreSQL.
Id = BigInteger().with_variant(Integer(), "sqlite")
#: Epoch seconds of a reading or a minute.
Seconds = BigInteger
#: Tables partitioned by month on PostgreSQL; plain (and WITHOUT ROWID) on SQLite.
PARTITIONED = {"postgresql_partition_by": "RANGE (ts_s)", "sqlite_with_rowid": False}

# -- households, keys, readings (server.storage) --------------------------------------------------
households = Table(
    "households",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("timezone", Text, nullable=False),
    Column("channels", Text, nullable=False),  # JSON list of channel names
    Column("created_s", BigInteger, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("key_id", Text, primary_key=True),
    Column(
        "household",
        Text,
        ForeignKey("households.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("secret_hash", Text, nullable=False),  # sha256 hex of the secret part; never the key
    Column("created_s", BigInteger, nullable=False),
    Column("revoked_s", BigInteger),
    Column("label", Text),  # what its owner called it ("meter", "Home Assistant")
    Column("last_used_s", BigInteger),  # written at most once a minute (KeyStore.check)
    Index("api_keys_household", "household"),
)

readings = Table(
    "readings",
    metadata,
    Column("household", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("ts_s", Seconds, primary_key=True),
    Column("power_kw", Float),  # NULL: the meter reported the channel unavailable
    Index("readings_ts", "ts_s"),
    **PARTITIONED,
)

rollups_1m = Table(
    "rollups_1m",
    metadata,
    Column("household", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("ts_s", Seconds, primary_key=True),  # start of the minute
    Column("sum_kw", Float, nullable=False),
    Column("min_kw", Float),
    Column("max_kw", Float),
    Column("count", Integer, nullable=False),  # readings with a value
    Column("missing", Integer, nullable=False),  # readings reported unavailable
    Index("rollups_1m_ts", "ts_s"),
    **PARTITIONED,
)

rollups_15m = Table(
    "rollups_15m",
    metadata,
    Column("household", Text, primary_key=True),
    Column("channel", Text, primary_key=True),
    Column("ts_s", Seconds, primary_key=True),  # start of the quarter hour
    Column("sum_kw", Float, nullable=False),
    Column("min_kw", Float),
    Column("max_kw", Float),
    Column("count", Integer, nullable=False),
    Column("missing", Integer, nullable=False),
    Index("rollups_15m_ts", "ts_s"),
    **PARTITIONED,
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("received_s", BigInteger, nullable=False),
    Column("source", Text, nullable=False),  # 'http', 'mqtt', ...
    Column("household", Text),
    Column("reason", Text, nullable=False),
    Column("payload", Text, nullable=False),
    Index("dead_letters_received", "received_s"),
)

# -- widget devices' push tokens (server.push.devices) --------------------------------------------
devices = Table(
    "devices",
    metadata,
    Column("household", Text, primary_key=True),
    # keyed HMAC of the FCM registration token (server.storage.crypto.Keyring.index): lookups
    Column("token_hash", Text, primary_key=True),
    Column("token", Text, nullable=False),  # the token, sealed (AES-256-GCM)
    Column("platform", Text, nullable=False),  # 'android', 'ios' or 'web'
    Column("created_s", BigInteger, nullable=False),
    Column("updated_s", BigInteger, nullable=False),
    Index("devices_token_hash", "token_hash"),
    sqlite_with_rowid=False,
)

#: Browsers' Web Push subscriptions (server/push/webpush.py): the endpoint is a capability URL,
#: so it and the browser's keys are sealed, and the endpoint is found by its keyed hash.
webpush_subscriptions = Table(
    "webpush_subscriptions",
    metadata,
    Column("household", Text, primary_key=True),
    Column("endpoint_hash", Text, primary_key=True),
    Column("endpoint", Text, nullable=False),  # sealed
    Column("browser_keys", Text, nullable=False),  # sealed JSON: p256dh, auth
    Column("created_s", BigInteger, nullable=False),
    Column("updated_s", BigInteger, nullable=False),
    Index("webpush_subscriptions_endpoint_hash", "endpoint_hash"),
    sqlite_with_rowid=False,
)

#: Disaggregation models attached to live households (server/estimates): one per household and
#: appliance; the model file as written by ``Disaggregator.save`` (trusted: it is unpickled), its
#: JSON header, and the live estimator's state (JSON: waiting for history, estimating, ...).
nilm_models = Table(
    "nilm_models",
    metadata,
    Column("household", Text, primary_key=True),
    Column("appliance", Text, primary_key=True),
    Column("model", LargeBinary, nullable=False),
    Column("header", Text, nullable=False),
    Column("attached_s", Float, nullable=False),
    Column("state", Text, nullable=False),
    sqlite_with_rowid=False,
)

#: The deployment's catalog of disaggregation models (server/estimates): model files published by
#: the operator (``python -m server nilm publish``) under a name, which owners attach over HTTP by
#: that name; never a household's data (no ``household`` column: erasure leaves it).
nilm_catalog = Table(
    "nilm_catalog",
    metadata,
    Column("name", Text, primary_key=True),
    Column("appliance", Text, nullable=False),
    Column("model", LargeBinary, nullable=False),
    Column("header", Text, nullable=False),
    Column("published_s", Float, nullable=False),
    sqlite_with_rowid=False,
)

# -- jobs run once per period, and leader leases ----------------------------------------------------
job_runs = Table(
    "job_runs",
    metadata,
    Column("name", Text, primary_key=True),
    Column("last_run_s", BigInteger, nullable=False),
)

leases = Table(
    "leases",
    metadata,
    Column("name", Text, primary_key=True),
    Column("owner", Text, nullable=False),  # host:pid:random of the holder
    Column("expires_s", Float, nullable=False),
)

# -- alerts (server.alerts) ---------------------------------------------------------------------
alert_settings = Table(
    "alert_settings",
    metadata,
    Column("household", Text, primary_key=True),
    Column("settings", Text, nullable=False),  # JSON document (server.alerts.settings), sealed
    Column("updated_s", BigInteger, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("household", Text, nullable=False),
    Column("rule", Text, nullable=False),  # 'spike', 'level', 'offline', 'digest'
    Column("kind", Text, nullable=False),  # 'alert', 'recovery' or 'digest'
    Column("level", Text, nullable=False),
    Column("ts_s", BigInteger, nullable=False),  # when the condition was seen
    Column("created_s", Float, nullable=False),  # when it was logged
    Column("message", Text, nullable=False),
    Column("values_json", Text, nullable=False),
    Column("quiet", Integer, nullable=False),  # 1: inside quiet hours, not delivered
    Index("alerts_household_ts", "household", "ts_s", "id"),
    Index("alerts_ts", "ts_s"),
    sqlite_autoincrement=True,
)

alert_deliveries = Table(
    "alert_deliveries",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column(
        "alert_id",
        Id,
        ForeignKey("alerts.id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("channel", Text, nullable=False),  # 'push', 'email', 'sms', 'webhook'
    Column("target", Text, nullable=False),  # masked address or URL host
    Column("attempt", Integer, nullable=False),
    Column("status", Text, nullable=False),  # 'sent', 'failed', 'skipped'
    Column("error", Text),
    Column("ts_s", Float, nullable=False),
    Index("alert_deliveries_alert", "alert_id"),
)

alert_digests = Table(
    "alert_digests",
    metadata,
    Column("household", Text, primary_key=True),
    Column("period_end_s", BigInteger, primary_key=True),  # the end of the quiet period
    Column("period_start_s", BigInteger, nullable=False),
    Column("claimed_s", Float, nullable=False),
    # NULL: nothing was held
    Column("alert_id", Id, ForeignKey("alerts.id", ondelete="SET NULL")),
    sqlite_with_rowid=False,
)

# -- control (server.control) -------------------------------------------------------------------
control_devices = Table(
    "control_devices",
    metadata,
    Column("household", Text, primary_key=True),
    Column("id", Text, primary_key=True),
    Column("kind", Text, nullable=False),  # relay, plug, water_heater, thermostat, ev_charger
    Column("doc", Text, nullable=False),  # JSON (server.control.devices.Device)
    Column("source", Text, nullable=False),  # 'http' or 'mqtt' (announced)
    Column("updated_s", Float, nullable=False),
    sqlite_with_rowid=False,
)

control_commands = Table(
    "control_commands",
    metadata,
    Column("household", Text, primary_key=True),
    Column("id", Text, primary_key=True),  # the client's command id, or a generated one
    Column("device", Text, nullable=False),
    Column("action", Text, nullable=False),  # 'on', 'off', 'set'
    Column("body", Text, nullable=False),  # canonical JSON of what was asked (idempotency)
    Column("status", Text, nullable=False),  # 'pending', 'acked', 'failed', 'expired'
    Column("source", Text, nullable=False),  # 'api', 'mqtt', 'schedule', 'automation'
    Column("actor", Text),  # key id, or the schedule / rule that sent it
    Column("created_s", Float, nullable=False),
    Column("expires_s", Float, nullable=False),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("next_s", Float, nullable=False),  # next (re)send, while pending
    Column("done_s", Float),  # when acked, failed or expired
    Column("state", Text),  # JSON: the device's answer
    Column("error", Text),
    Index("control_commands_due", "status", "next_s"),
    sqlite_with_rowid=False,
)

control_audit = Table(
    "control_audit",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("household", Text, nullable=False),
    Column("command_id", Text, nullable=False),
    Column("device", Text, nullable=False),
    Column("event", Text, nullable=False),  # 'created', 'repeated', 'sent', 'acked', ...
    Column("actor", Text),  # key id, 'mqtt:<topic>', 'schedule', 'automation:<n>'
    Column("detail", Text),  # JSON
    Column("ts_s", Float, nullable=False),
    Index("control_audit_household", "household", "ts_s"),
)

control_schedules = Table(
    "control_schedules",
    metadata,
    Column("household", Text, primary_key=True),
    Column("doc", Text, nullable=False),  # JSON: the loads and options as PUT
    Column("plan", Text),  # JSON: the plan in force
    Column("inputs_fp", Text),  # fingerprint of the prices/forecast it used
    Column("updated_s", Float, nullable=False),
)

control_schedule_claims = Table(
    "control_schedule_claims",
    metadata,
    Column("household", Text, primary_key=True),
    Column("load_id", Text, primary_key=True),
    Column("at_s", BigInteger, primary_key=True),  # the planned switch time
    Column("action", Text, primary_key=True),  # 'on' or 'off'
    Column("command_id", Text, nullable=False),
    Column("claimed_s", Float, nullable=False),
    sqlite_with_rowid=False,
)

control_automations = Table(
    "control_automations",
    metadata,
    Column("household", Text, primary_key=True),
    Column("rules", Text, nullable=False),  # JSON list (server.control.automations.Rule)
    Column("updated_s", Float, nullable=False),
)

# -- insights (server.insights.store) --------------------------------------------------------------
tariffs = Table(
    "tariffs",
    metadata,
    Column("household", Text, primary_key=True),
    Column("document", Text, nullable=False),  # JSON (server.insights.tariff.Tariff.to_json)
    Column("revision", Integer, nullable=False),  # +1 on every PUT
    Column("updated_s", Float, nullable=False),
    sqlite_with_rowid=False,
)

insights_state = Table(
    "insights_state",
    metadata,
    Column("household", Text, primary_key=True),
    Column("version", Integer, nullable=False),  # +1 on every refresh that changed something
    Column("refreshed_s", Float, nullable=False),  # the leader's last refresh
    Column("reason", Text, nullable=False),  # 'data', 'daily', 'tariff'
    sqlite_with_rowid=False,
)

# -- monthly reports (server.reports.store) ---------------------------------------------------------
reports = Table(
    "reports",
    metadata,
    Column("household", Text, primary_key=True),
    Column("month", Text, primary_key=True),  # 'YYYY-MM', the household's calendar month
    Column("path", Text, nullable=False),  # the PDF, relative to the data directory
    Column("size_bytes", BigInteger, nullable=False),
    Column("sha256", Text, nullable=False),  # hex digest of the PDF (the ETag)
    Column("created_s", Float, nullable=False),
    Column("summary", Text, nullable=False),  # JSON: the month's headline figures
    sqlite_with_rowid=False,
)

report_claims = Table(
    "report_claims",
    metadata,
    Column("household", Text, primary_key=True),
    Column("month", Text, primary_key=True),
    Column("owner", Text, nullable=False),  # host:pid of the claiming process
    Column("claimed_s", Float, nullable=False),
    Column("done_s", Float),  # NULL while being generated
    sqlite_with_rowid=False,
)

# -- accounts (server.accounts) ----------------------------------------------------------------
users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    # keyed HMAC-SHA256 of the lower-cased email: sign-in finds a user without an index of emails
    Column("email_hash", Text, nullable=False),
    Column("email", Text, nullable=False),  # as given, sealed (server.storage.crypto)
    Column("name", Text, nullable=False),  # sealed
    Column("password_hash", Text, nullable=False),  # argon2id, PHC string
    Column("verified_s", BigInteger),  # NULL until the email is verified
    Column("created_s", BigInteger, nullable=False),
    Index("users_email_hash", "email_hash", unique=True),
    sqlite_autoincrement=True,
)

memberships = Table(
    "memberships",
    metadata,
    Column(
        "household",
        Text,
        ForeignKey("households.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("role", Text, nullable=False),  # 'owner', 'member' or 'viewer'
    Column("created_s", BigInteger, nullable=False),
    Index("memberships_user", "user_id"),
    sqlite_with_rowid=False,
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("household", Text),  # NULL: about a user alone (a sign-in)
    Column("user_id", Id),  # who acted (or was concerned); kept when the user goes
    Column("event", Text, nullable=False),  # 'sign_in', 'household_created', 'role_changed', ...
    Column("detail", Text, nullable=False),  # JSON
    Column("ts_s", Float, nullable=False),
    Index("audit_log_household", "household", "ts_s"),
    Index("audit_log_user", "user_id", "ts_s"),
    sqlite_autoincrement=True,
)

# -- privacy (server.storage.crypto, server.storage.consent) --------------------------------------
data_keys = Table(
    "data_keys",
    metadata,
    Column("id", Text, primary_key=True),
    Column("purpose", Text, nullable=False),  # 'data' (seals values) or 'index' (lookup hashes)
    Column("wrapped", Text, nullable=False),  # base64(nonce + AES-256-GCM of the key)
    Column("master_id", Text, nullable=False),  # which master key wraps it
    Column("created_s", Float, nullable=False),
    Column("rotated_s", Float),  # last re-wrap under a new master key
)

consents = Table(
    "consents",
    metadata,
    Column(
        "household",
        Text,
        ForeignKey("households.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column("purpose", Text, primary_key=True),  # collection, analytics, recommendations, sharing
    Column("granted", Integer, nullable=False),  # 1 given, 0 refused or withdrawn
    Column("version", Text, nullable=False),  # the wording's version agreed to
    Column("user_id", Id),  # who gave or withdrew it (NULL: the operator, from the CLI)
    Column("ts_s", Float, nullable=False),
    sqlite_with_rowid=False,
)

consent_log = Table(
    "consent_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("household", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("granted", Integer, nullable=False),
    Column("version", Text, nullable=False),
    Column("user_id", Id),
    Column("source", Text, nullable=False),  # 'api', 'household_created', 'cli'
    Column("ts_s", Float, nullable=False),
    Index("consent_log_household", "household", "ts_s"),
    sqlite_autoincrement=True,
)

# -- /stream_data setups of the compatibility API (server.compat.setups) ----------------------------
stream_setups = Table(
    "stream_setups",
    metadata,
    Column("stream_id", Text, primary_key=True),
    Column("setup", Text, nullable=False),  # JSON (server.compat.setups.Setup)
    Column("created_at", Float, nullable=False),
)

# -- OAuth 2.0 clients, codes and tokens (server.accounts.oauth); secrets and tokens sha256 only --
oauth_clients = Table(
    "oauth_clients",
    metadata,
    Column("client_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("secret_hash", Text),  # sha256 hex of the secret; NULL for a public client (PKCE)
    Column("redirect_uris", Text, nullable=False),  # JSON list, matched exactly
    Column("scope", Text, nullable=False),  # the scopes it may ask for, space-separated
    Column("created_s", BigInteger, nullable=False),
)
oauth_codes = Table(
    "oauth_codes",
    metadata,
    Column("code_hash", Text, primary_key=True),  # sha256 hex of the code
    Column(
        "client_id",
        Text,
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("redirect_uri", Text),
    Column("scope", Text, nullable=False),
    Column("code_challenge", Text),
    Column("code_challenge_method", Text),
    Column("expires_s", BigInteger, nullable=False),
)
oauth_tokens = Table(
    "oauth_tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("access_hash", Text, nullable=False),  # sha256 hex of the access token
    Column("refresh_hash", Text),  # sha256 hex of the refresh token (NULL: none issued)
    Column(
        "client_id",
        Text,
        ForeignKey("oauth_clients.client_id", ondelete="CASCADE"),
        nullable=False,
    ),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("scope", Text, nullable=False),
    # the id of the first token of a refresh chain: reusing a rotated refresh token revokes it all
    Column("family", BigInteger),
    Column("issued_s", BigInteger, nullable=False),
    Column("access_expires_s", BigInteger, nullable=False),
    Column("refresh_expires_s", BigInteger),
    Column("revoked_s", BigInteger),  # the access token revoked (or its refresh token rotated)
    Column("refresh_revoked_s", BigInteger),  # the refresh token used (rotated) or revoked
    Index("oauth_tokens_access", "access_hash", unique=True),
    Index("oauth_tokens_refresh", "refresh_hash", unique=True),
    Index("oauth_tokens_family", "family"),
    sqlite_autoincrement=True,
)
