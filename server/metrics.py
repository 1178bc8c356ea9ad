"""Gridlight's Prometheus metrics, kept by ``prometheus_client`` and served by ``GET /metrics``.

Each process counts in one :class:`Metrics` (a web worker's app, the ingest process): the
counters in :data:`COUNTERS` (feature packages add theirs with :func:`register_counter`), the
gauges in :data:`GAUGES`, the readers' lag, and two histograms: the time to answer a request by
route and status, and the delivery latency of live SSE events (the time an event is sent minus
the end of its window, ``ts + interval_s``).

Under gunicorn a scrape reaches one worker of several, so the client runs in its multiprocess
mode: ``PROMETHEUS_MULTIPROC_DIR`` (a fresh directory per server, made by
``docker/gunicorn.conf.py`` or ``python -m server run``, which the ingest process shares) holds
every process's values and :func:`render` merges them. Counters and histograms are summed over
every process the server has run (a restarted worker's counts stay in the totals), the clients
connected and ``gridlight_workers_reporting`` over the live ones; the reader lag is served per
live process (label ``pid``). The client's process collector does not merge processes, and a
sum of CPU or memory over workers hides the one that is in trouble, so ``process_*`` is served
per live process too, with the same ``pid`` label, read from ``/proc`` (Linux) by the worker
that answers. Gunicorn's ``child_exit`` hook calls ``multiprocess.mark_process_dead`` so that a
dead worker's live gauges and process figures drop out.

Without ``PROMETHEUS_MULTIPROC_DIR`` (tests, the Flask development server) each
:class:`Metrics` has a registry of its own and serves its own figures and its process's
``process_*`` (no ``pid`` label).
"""

from __future__ import annotations

import os
import re
import threading
import time

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.exposition import choose_encoder
from prometheus_client.metrics_core import Metric
from prometheus_client.process_collector import ProcessCollector

__all__ = [
    "COUNTERS",
    "GAUGES",
    "Metrics",
    "mark_process_dead",
    "multiprocess_dir",
    "register_counter",
    "render",
]

COUNTERS = {
    "gridlight_sse_events_sent_total": "SSE events handed to clients' streams.",
    "gridlight_sse_slow_clients_dropped_total": "Clients disconnected because their queue was full.",
    "gridlight_broker_reconnects_total": "Reconnections of stream readers to the broker.",
    "gridlight_late_readings_total": "Readings that arrived after their window had closed.",
}
#: name → (help, how processes combine in multiprocess mode)
GAUGES = {
    "gridlight_sse_clients_connected": ("SSE clients connected.", "livesum"),
    "gridlight_workers_reporting": (
        "Live processes whose figures are included (web workers, the ingest process).",
        "livesum",
    ),
}
LAG = "gridlight_reader_lag_seconds"
LAG_HELP = "Delay from broker entry to its reading by the stream reader, last seen, per household."
REQUEST_DURATION = "gridlight_http_request_duration_seconds"
REQUEST_DURATION_HELP = (
    "Time from a request's arrival to its response (a stream's: to its headers), "
    "by route (the URL rule) and status."
)
DELIVERY_LATENCY = "gridlight_sse_delivery_latency_seconds"
DELIVERY_LATENCY_HELP = (
    "Time a live SSE event is sent minus the end of its window (ts + interval_s), "
    "once per window and channel."
)
#: Route label of requests that matched no URL rule (404, 405).
UNMATCHED = "<unmatched>"
REQUEST_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
DELIVERY_BUCKETS_S = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 15.0, 30.0, 60.0)
#: A live process's file: every :class:`Metrics` sets ``gridlight_workers_reporting`` (livesum).
_LIVE_FILE = re.compile(r"gauge_livesum_(\d+)\.db")


def register_counter(name: str, help_text: str) -> None:
    """Add a counter that another package counts (alerts, the widget's pushes); idempotent."""
    COUNTERS.setdefault(name, help_text)


def multiprocess_dir() -> str | None:
    """The directory of prometheus_client's multiprocess mode, or ``None`` (single process)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def mark_process_dead(pid: int) -> None:
    """Drop a process that has ended from the live figures (no-op in single-process mode)."""
    path = multiprocess_dir()
    if path:
        multiprocess.mark_process_dead(pid, path)


class Metrics:
    """One process's metrics, counted by name (``add``) so that callers need no client objects.

    :attr:`values` gives this process's counters and gauges by name, for tests and benchmarks.
    """

    def __init__(self) -> None:
        self.multiprocess_dir = multiprocess_dir()
        self.registry = CollectorRegistry()
        self._lock = threading.Lock()
        self._counters: dict[str, Counter] = {}
        for name in list(COUNTERS):
            self._counter(name)
        self._gauges = {
            name: Gauge(name, help_text, registry=self.registry, multiprocess_mode=mode)
            for name, (help_text, mode) in GAUGES.items()
        }
        self._gauges["gridlight_workers_reporting"].set(1)
        self.lag = Gauge(
            LAG, LAG_HELP, ["household"], registry=self.registry, multiprocess_mode="liveall"
        )
        self.request_duration = Histogram(
            REQUEST_DURATION,
            REQUEST_DURATION_HELP,
            ["route", "status"],
            registry=self.registry,
            buckets=REQUEST_BUCKETS_S,
        )
        self.delivery_latency = Histogram(
            DELIVERY_LATENCY,
            DELIVERY_LATENCY_HELP,
            registry=self.registry,
            buckets=DELIVERY_BUCKETS_S,
        )
        if self.multiprocess_dir is None:
            ProcessCollector(registry=self.registry)

    def _counter(self, name: str) -> Counter:
        with self._lock:
            counter = self._counters.get(name)
            if counter is None:
                help_text = COUNTERS.get(name) or name.replace("_", " ")
                counter = Counter(name, help_text, registry=self.registry)
                self._counters[name] = counter
            return counter

    def add(self, name: str, amount: float = 1.0) -> None:
        """Count ``amount`` on a counter (never negative) or move a gauge of :data:`GAUGES`."""
        metric = self._counters.get(name) or self._gauges.get(name)
        if metric is None:  # registered after this process's metrics were made
            metric = self._counter(name)
        metric.inc(amount)

    def set_lag(self, household: str, lag_s: float) -> None:
        self.lag.labels(household).set(lag_s)

    def forget_household(self, household: str | None) -> None:
        """Drop a removed household's labelled series (``None``: every household's). In
        multiprocess mode a dead worker's files keep theirs until the directory is cleared."""
        if household is None:
            self.lag.clear()
            return
        try:
            self.lag.remove(household)
        except KeyError:
            pass

    def observe_request(self, route: str, status: int, duration_s: float) -> None:
        self.request_duration.labels(route, str(status)).observe(duration_s)

    def observe_delivery(self, window_end_s: float, now_s: float | None = None) -> None:
        """An event whose window ended at ``window_end_s`` [epoch s] is being sent. Clamped at
        zero: an accelerated replay's clock runs ahead of the wall clock."""
        now = time.time() if now_s is None else now_s
        self.delivery_latency.observe(max(now - window_end_s, 0.0))

    @property
    def values(self) -> dict[str, float]:
        """This process's counters and gauges without labels, by name."""
        names = {*self._counters, *self._gauges}
        return {
            sample.name: sample.value
            for metric in self.registry.collect()
            for sample in metric.samples
            if sample.name in names and not sample.labels
        }

    def ensure_registered(self) -> None:
        """Create the counters registered since this object was made (they show at zero)."""
        for name in list(COUNTERS):
            if name not in self._counters:
                self._counter(name)


class LiveProcesses:
    """The process collector's metrics of every live process of a multiprocess directory,
    labelled ``pid``: CPU, memory, open files and start time per worker (and ingest process)."""

    def __init__(self, path: str) -> None:
        self.path = path

    def pids(self) -> list[int]:
        try:
            names = os.listdir(self.path)
        except OSError:
            return []
        return sorted({int(m.group(1)) for n in names if (m := _LIVE_FILE.fullmatch(n))})

    def collect(self) -> list[Metric]:
        families: dict[str, Metric] = {}
        for pid in self.pids():
            collector = ProcessCollector(pid=lambda pid=pid: pid, registry=None)
            for family in collector.collect():
                out = families.get(family.name)
                if out is None:
                    out = families[family.name] = Metric(
                        family.name, family.documentation, family.type
                    )
                for sample in family.samples:
                    out.add_sample(sample.name, {**sample.labels, "pid": str(pid)}, sample.value)
        return list(families.values())


def render(metrics: Metrics, accept: str | None = None) -> tuple[bytes, str]:
    """The exposition (and its content type) for a scrape with this ``Accept`` header: the
    Prometheus text format, or OpenMetrics when asked for. Merged over the processes of the
    multiprocess directory when there is one, else ``metrics``'s own."""
    encode, content_type = choose_encoder(accept or "")
    metrics.ensure_registered()
    if metrics.multiprocess_dir is None:
        return encode(metrics.registry), content_type
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry, metrics.multiprocess_dir)
    registry.register(LiveProcesses(metrics.multiprocess_dir))
    return encode(registry), content_type
