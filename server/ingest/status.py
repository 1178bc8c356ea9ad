"""The MQTT subscriber's status, for ``/healthz`` in every web worker.

The subscriber runs in one process of a deployment (a web worker in the embedded default, else
``python -m server ingest``), which shares the data directory with the web workers (readings are
stored there). It writes its status to ``DATA_DIR/.status/mqtt-ingest.json`` every
:data:`HEARTBEAT_S` and whenever its connection changes; a web worker reads it and reports the
subscriber as down when it is disconnected or has not written for :data:`STALE_AFTER_S` (judged
on the wall clocks of both, so processes on other hosts need synchronised clocks, as NTP keeps
them).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["HEARTBEAT_S", "STALE_AFTER_S", "read_status", "status_path", "write_status"]

HEARTBEAT_S = 5.0
STALE_AFTER_S = 3 * HEARTBEAT_S


def status_path(data_dir: str | os.PathLike[str]) -> Path:
    return Path(data_dir) / ".status" / "mqtt-ingest.json"


def write_status(path: Path, *, connected: bool, broker: str, since: float, now: float) -> None:
    """Replace the status file atomically (readers never see half of it)."""
    body = {
        "connected": connected,
        "broker": broker,
        "pid": os.getpid(),
        "since": round(since, 3),
        "updated": round(now, 3),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".mqtt-", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            json.dump(body, fh)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from web workers of another user
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_status(path: Path, now: float) -> dict[str, Any]:
    """The subscriber's health as ``/healthz`` reports it: ``ok`` plus what is known."""
    try:
        body = json.loads(path.read_text())
        updated = float(body["updated"])
    except FileNotFoundError:
        return {"ok": False, "error": "no MQTT subscriber has reported (is it running?)"}
    except (OSError, ValueError, KeyError, TypeError) as err:
        return {"ok": False, "error": f"unreadable status {str(path)!r}: {err}"}
    out = {k: body.get(k) for k in ("broker", "connected", "pid", "since", "updated")}
    age_s = now - updated
    if age_s > STALE_AFTER_S:
        out.update(ok=False, error=f"the MQTT subscriber has not reported for {age_s:.0f} s")
    elif not body.get("connected"):
        out.update(ok=False, error=f"the MQTT subscriber is not connected to {body.get('broker')}")
    else:
        out["ok"] = True
    return out
