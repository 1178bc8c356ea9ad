"""The schema as Gridlight versioned it before alembic: ``PRAGMA user_version`` 1–8.

:mod:`server.storage.migrate` uses :data:`MIGRATIONS` to finish an old installation's SQLite file
before stamping it with alembic's baseline revision (which equals version 8), so an existing
installation upgrades in place. New schema changes go to ``server/storage/migrations``. Timestamps are integer UTC epoch seconds (``ts_s``), powers are kW
(``power_kw``), and a missing reading is NULL, never zero.
"""

from __future__ import annotations

import sqlite3

__all__ = ["MIGRATIONS", "apply_legacy"]

MIGRATIONS: tuple[str, ...] = (
    # 1: live households, API keys, raw readings, 1-minute rollups, dead letters.
    """
    CREATE TABLE households (
        id          TEXT PRIMARY KEY,
        name        TEXT NOT NULL,
        timezone    TEXT NOT NULL,
        channels    TEXT NOT NULL,          -- JSON list of channel names
        created_s   INTEGER NOT NULL
    );
    CREATE TABLE api_keys (
        key_id      TEXT PRIMARY KEY,
        household   TEXT NOT NULL REFERENCES households(id) ON DELETE CASCADE,
        secret_hash TEXT NOT NULL,          -- sha256 hex of the secret part; never the key
        created_s   INTEGER NOT NULL,
        revoked_s   INTEGER
    );
    CREATE INDEX api_keys_household ON api_keys(household);
    CREATE TABLE readings (
        household   TEXT NOT NULL,
        channel     TEXT NOT NULL,
        ts_s        INTEGER NOT NULL,
        power_kw    REAL,                   -- NULL: the meter reported the channel unavailable
        PRIMARY KEY (household, channel, ts_s)
    ) WITHOUT ROWID;
    CREATE INDEX readings_ts ON readings(ts_s);
    CREATE TABLE rollups_1m (
        household   TEXT NOT NULL,
        channel     TEXT NOT NULL,
        ts_s        INTEGER NOT NULL,       -- start of the minute
        sum_kw      REAL NOT NULL,
        min_kw      REAL,
        max_kw      REAL,
        count       INTEGER NOT NULL,       -- readings with a value
        missing     INTEGER NOT NULL,       -- readings reported unavailable
        PRIMARY KEY (household, channel, ts_s)
    ) WITHOUT ROWID;
    CREATE INDEX rollups_1m_ts ON rollups_1m(ts_s);
    CREATE TABLE dead_letters (
        id          INTEGER PRIMARY KEY,
        received_s  INTEGER NOT NULL,
        source      TEXT NOT NULL,          -- 'http', 'mqtt', ...
        household   TEXT,
        reason      TEXT NOT NULL,
        payload     TEXT NOT NULL
    );
    CREATE INDEX dead_letters_received ON dead_letters(received_s);
    """,
    # 2: push tokens of widget devices (server.push.devices); a token is a credential.
    """
    CREATE TABLE devices (
        household   TEXT NOT NULL,
        token       TEXT NOT NULL,          -- FCM registration token; never logged whole
        platform    TEXT NOT NULL,          -- 'android', 'ios' or 'web'
        created_s   INTEGER NOT NULL,
        updated_s   INTEGER NOT NULL,
        PRIMARY KEY (household, token)
    ) WITHOUT ROWID;
    CREATE INDEX devices_token ON devices(token);
    """,
    # 3: scheduled jobs claimed once per period across processes (server.ingest.retention).
    """
    CREATE TABLE job_runs (
        name        TEXT PRIMARY KEY,
        last_run_s  INTEGER NOT NULL
    );
    """,
    # 4: alert settings, the alert log and every delivery attempt (server.alerts).
    """
    CREATE TABLE alert_settings (
        household   TEXT PRIMARY KEY,
        settings    TEXT NOT NULL,          -- JSON document (server.alerts.settings)
        updated_s   INTEGER NOT NULL
    );
    CREATE TABLE alerts (
        id          INTEGER PRIMARY KEY AUTOINCREMENT,
        household   TEXT NOT NULL,
        rule        TEXT NOT NULL,          -- 'spike', 'level', 'offline'
        kind        TEXT NOT NULL,          -- 'alert' or 'recovery'
        level       TEXT NOT NULL,
        ts_s        INTEGER NOT NULL,       -- when the condition was seen
        created_s   REAL NOT NULL,          -- when it was logged
        message     TEXT NOT NULL,
        values_json TEXT NOT NULL,
        quiet       INTEGER NOT NULL        -- 1: inside quiet hours, not delivered
    );
    CREATE INDEX alerts_household_ts ON alerts(household, ts_s, id);
    CREATE INDEX alerts_ts ON alerts(ts_s);
    CREATE TABLE alert_deliveries (
        id          INTEGER PRIMARY KEY,
        alert_id    INTEGER NOT NULL REFERENCES alerts(id) ON DELETE CASCADE,
        channel     TEXT NOT NULL,          -- 'push', 'email', 'sms', 'webhook'
        target      TEXT NOT NULL,          -- masked address or URL host
        attempt     INTEGER NOT NULL,
        status      TEXT NOT NULL,          -- 'sent', 'failed', 'skipped'
        error       TEXT,
        ts_s        REAL NOT NULL
    );
    CREATE INDEX alert_deliveries_alert ON alert_deliveries(alert_id);
    """,
    # 5: one claim per household and ended quiet period, so its digest is sent once
    # (server.alerts.digest, AlertLog.claim_digest); digests are logged in `alerts` with rule
    # and kind 'digest'.
    """
    CREATE TABLE alert_digests (
        household       TEXT NOT NULL,
        period_end_s    INTEGER NOT NULL,   -- the end of the quiet period
        period_start_s  INTEGER NOT NULL,
        claimed_s       REAL NOT NULL,
        alert_id        INTEGER REFERENCES alerts(id) ON DELETE SET NULL,  -- NULL: nothing held
        PRIMARY KEY (household, period_end_s)
    ) WITHOUT ROWID;
    """,
    # 6 (control, server/control): controllable devices, commands and their audit log,
    # schedules with the claims that run each planned switch once, automation rules.
    """
    CREATE TABLE control_devices (
        household   TEXT NOT NULL,
        id          TEXT NOT NULL,
        kind        TEXT NOT NULL,          -- relay, plug, water_heater, thermostat, ev_charger
        doc         TEXT NOT NULL,          -- JSON (server.control.devices.Device)
        source      TEXT NOT NULL,          -- 'http' or 'mqtt' (announced)
        updated_s   REAL NOT NULL,
        PRIMARY KEY (household, id)
    ) WITHOUT ROWID;
    CREATE TABLE control_commands (
        household   TEXT NOT NULL,
        id          TEXT NOT NULL,          -- the client's command id, or a generated one
        device      TEXT NOT NULL,
        action      TEXT NOT NULL,          -- 'on', 'off', 'set'
        body        TEXT NOT NULL,          -- canonical JSON of what was asked (idempotency)
        status      TEXT NOT NULL,          -- 'pending', 'acked', 'failed', 'expired'
        source      TEXT NOT NULL,          -- 'api', 'mqtt', 'schedule', 'automation'
        actor       TEXT,                   -- key id, or the schedule / rule that sent it
        created_s   REAL NOT NULL,
        expires_s   REAL NOT NULL,
        attempts    INTEGER NOT NULL DEFAULT 0,
        next_s      REAL NOT NULL,          -- next (re)send, while pending
        done_s      REAL,                   -- when acked, failed or expired
        state       TEXT,                   -- JSON: the device's answer
        error       TEXT,
        PRIMARY KEY (household, id)
    ) WITHOUT ROWID;
    CREATE INDEX control_commands_due ON control_commands(status, next_s);
    CREATE TABLE control_audit (
        id          INTEGER PRIMARY KEY,
        household   TEXT NOT NULL,
        command_id  TEXT NOT NULL,
        device      TEXT NOT NULL,
        event       TEXT NOT NULL,          -- 'created', 'repeated', 'sent', 'acked', 'failed', 'expired'
        actor       TEXT,                   -- key id, 'mqtt:<topic>', 'schedule', 'automation:<n>'
        detail      TEXT,                   -- JSON
        ts_s        REAL NOT NULL
    );
    CREATE INDEX control_audit_household ON control_audit(household, ts_s);
    CREATE TABLE control_schedules (
        household   TEXT PRIMARY KEY,
        doc         TEXT NOT NULL,          -- JSON: the loads and options as PUT
        plan        TEXT,                   -- JSON: the plan in force
        inputs_fp   TEXT,                   -- fingerprint of the prices/forecast it used
        updated_s   REAL NOT NULL
    );
    CREATE TABLE control_schedule_claims (
        household   TEXT NOT NULL,
        load_id     TEXT NOT NULL,
        at_s        INTEGER NOT NULL,       -- the planned switch time
        action      TEXT NOT NULL,          -- 'on' or 'off'
        command_id  TEXT NOT NULL,
        claimed_s   REAL NOT NULL,
        PRIMARY KEY (household, load_id, at_s, action)
    ) WITHOUT ROWID;
    CREATE TABLE control_automations (
        household   TEXT PRIMARY KEY,
        rules       TEXT NOT NULL,          -- JSON list (server.control.automations.Rule)
        updated_s   REAL NOT NULL
    );
    """,
    # (end of control's migration)
    # -- insights (server.insights.store) ------------------------------------------------------
    # 7: each household's tariff document (PUT …/tariff; demo households fall back to the
    # default), and the version of its insights, bumped by the leader's refresh (every worker
    # announces a new version on its streams). IF NOT EXISTS: the number may move in a merge.
    """
    CREATE TABLE IF NOT EXISTS tariffs (
        household   TEXT PRIMARY KEY,
        document    TEXT NOT NULL,          -- JSON (server.insights.tariff.Tariff.to_json)
        revision    INTEGER NOT NULL,       -- +1 on every PUT
        updated_s   REAL NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE IF NOT EXISTS insights_state (
        household   TEXT PRIMARY KEY,
        version     INTEGER NOT NULL,       -- +1 on every refresh that changed something
        refreshed_s REAL NOT NULL,          -- the leader's last refresh (changed or not)
        reason      TEXT NOT NULL           -- 'data', 'daily', 'tariff'
    ) WITHOUT ROWID;
    """,
    # -- end insights ---------------------------------------------------------------------------
    # -- 8 (reports): the monthly reports' index and the claims that make each month's report
    # once across processes and hosts (server.reports.store).
    """
    CREATE TABLE reports (
        household   TEXT NOT NULL,
        month       TEXT NOT NULL,          -- 'YYYY-MM', the household's calendar month
        path        TEXT NOT NULL,          -- the PDF, relative to the data directory
        size_bytes  INTEGER NOT NULL,
        sha256      TEXT NOT NULL,          -- hex digest of the PDF (the ETag)
        created_s   REAL NOT NULL,
        summary     TEXT NOT NULL,          -- JSON: the month's headline figures
        PRIMARY KEY (household, month)
    ) WITHOUT ROWID;
    CREATE TABLE report_claims (
        household   TEXT NOT NULL,
        month       TEXT NOT NULL,
        owner       TEXT NOT NULL,          -- host:pid of the claiming process
        claimed_s   REAL NOT NULL,
        done_s      REAL,                   -- NULL while being generated
        PRIMARY KEY (household, month)
    ) WITHOUT ROWID;
    """,
    # -- end 8 (reports)
)


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (``;`` inside comments or strings is safe)."""
    out, pending = [], ""
    for line in script.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            out.append(pending.strip())
            pending = ""
    if pending.strip():
        raise ValueError(f"incomplete SQL statement in a migration: {pending.strip()[:60]!r}")
    return out


def apply_legacy(conn: sqlite3.Connection) -> None:
    """Apply the legacy migrations the file does not have yet (one transaction)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            for statement in _statements(script):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
