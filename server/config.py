"""Default configuration of the Flask app.

Precedence, lowest first: these defaults; then the environment (every ``GRIDLIGHT_*`` variable
via ``app.config.from_prefixed_env("GRIDLIGHT")`` with the prefix stripped, e.g.
``GRIDLIGHT_DATA_DIR`` → ``DATA_DIR``, values parsed as JSON when they are JSON; plus the
conventional ``PORT``, ``REDIS_URL`` and ``MQTT_URL``); then the ``test_config`` mapping given to
:func:`server.create_app`, which wins.
"""

from __future__ import annotations

import json

#: TCP port the server listens on (gunicorn's bind; informational inside the app).
PORT = 5000
#: ``redis://...`` switches the broker to Redis Streams; ``None`` keeps the in-process broker.
REDIS_URL: str | None = None
#: ``mqtt://...`` turns on MQTT ingest (its own issue); unused by the stream server.
MQTT_URL: str | None = None
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
#: Directory for the quick-statistics cache; ``None`` means ``DATA_DIR/.cache/stats``.
STATS_CACHE_DIR: str | None = None
#: In demo mode, precompute the demo households' statistics at common intervals on start-up.
WARM_STATS = True
#: Directory where workers publish their metric snapshots (set by the gunicorn config so that
#: all workers of one server share it); ``None`` serves this worker's figures only.
METRICS_DIR: str | None = None


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
