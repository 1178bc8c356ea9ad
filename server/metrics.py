"""Per-worker stream metrics, and their Prometheus text exposition summed over workers.

Each worker counts in a :class:`Metrics`. With several gunicorn workers, a scrape reaches one of
them, so every worker also writes a snapshot (JSON, atomically) into a directory shared by the
workers of one server (``METRICS_DIR``, created by the gunicorn config); ``/metrics`` sums the
snapshots of live workers. Without that directory it reports the answering worker alone.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

__all__ = ["Metrics", "register_counter", "render"]

COUNTERS = {
    "gridlight_sse_events_sent_total": "SSE events handed to clients' streams.",
    "gridlight_sse_slow_clients_dropped_total": "Clients disconnected because their queue was full.",
    "gridlight_broker_reconnects_total": "Reconnections of stream readers to the broker.",
    "gridlight_late_readings_total": "Readings that arrived after their window had closed.",
}
GAUGES = {
    "gridlight_sse_clients_connected": "SSE clients connected.",
}
LAG = "gridlight_reader_lag_seconds"
LAG_HELP = "Delay from broker entry to its reading by the stream reader, last seen, per household."
STALE_S = 30.0


def register_counter(name: str, help_text: str) -> None:
    """Add a counter that another package counts (the widget's pushes); idempotent."""
    COUNTERS.setdefault(name, help_text)


class Metrics:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[str, float] = dict.fromkeys([*COUNTERS, *GAUGES], 0.0)
        self.lag_s: dict[str, float] = {}

    def add(self, name: str, amount: float = 1.0) -> None:
        with self._lock:
            self.values[name] = self.values.get(name, 0.0) + amount

    def set_lag(self, household: str, lag_s: float) -> None:
        self.lag_s[household] = lag_s

    def snapshot(self) -> dict:
        with self._lock:
            return {"pid": os.getpid(), "values": dict(self.values), "lag_s": dict(self.lag_s)}

    def write_snapshot(self, directory: str | os.PathLike[str]) -> None:
        path = Path(directory) / f"worker-{os.getpid()}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.snapshot()))
        os.replace(tmp, path)


def _collect(metrics: Metrics, directory: str | None) -> list[dict]:
    own = metrics.snapshot()
    if not directory or not Path(directory).is_dir():
        return [own]
    out = [own]
    now = time.time()
    for path in Path(directory).glob("worker-*.json"):
        try:
            if now - path.stat().st_mtime > STALE_S:
                continue
            snap = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if snap.get("pid") != own["pid"]:
            out.append(snap)
    return out


def render(metrics: Metrics, directory: str | None = None) -> str:
    """Prometheus text format (version 0.0.4) summed over the workers' snapshots."""
    snaps = _collect(metrics, directory)
    lines: list[str] = []
    for name, help_text in {**COUNTERS, **GAUGES}.items():
        kind = "counter" if name in COUNTERS else "gauge"
        total = sum(float(s["values"].get(name, 0.0)) for s in snaps)
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", f"{name} {total:g}"]
    lines += [f"# HELP {LAG} {LAG_HELP}", f"# TYPE {LAG} gauge"]
    for snap in sorted(snaps, key=lambda s: s["pid"]):
        for household, lag in sorted(snap["lag_s"].items()):
            lines.append(f'{LAG}{{household="{household}",worker="{snap["pid"]}"}} {lag:.6f}')
    lines += [
        "# HELP gridlight_workers_reporting Workers whose figures are included.",
        "# TYPE gridlight_workers_reporting gauge",
        f"gridlight_workers_reporting {len(snaps)}",
    ]
    return "\n".join(lines) + "\n"
