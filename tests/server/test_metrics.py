"""``/metrics`` in one process (no ``PROMETHEUS_MULTIPROC_DIR``): prometheus_client's exposition
of the app's own figures, the request-duration histogram by URL rule and status, the process
collector; and the :class:`~server.metrics.Metrics` facade. The exposition merged over gunicorn
workers is tested in ``test_served.py``."""

from __future__ import annotations

import pytest

from server.metrics import COUNTERS, Metrics, register_counter
from tests.promtool import check_metrics, samples

DURATION = "gridlight_http_request_duration_seconds"


def test_metrics_pass_promtool_with_request_histogram(client):
    for _ in range(3):
        assert client.get("/api/v1/households").status_code == 200
    assert client.get("/api/v1/households/nobody").status_code == 404
    assert client.get("/no/such/route").status_code == 404
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4; charset=utf-8"
    text = r.get_data(as_text=True)
    check_metrics(text)
    # by URL rule, not path: /api/v1/households/nobody is the rule's series
    assert samples(text, f"{DURATION}_count", route="/api/v1/households", status="200") == [
        ({"route": "/api/v1/households", "status": "200"}, 3.0)
    ]
    assert samples(text, f"{DURATION}_count", route="/api/v1/households/<household>")[0][1] == 1
    assert samples(text, f"{DURATION}_count", route="<unmatched>", status="404")[0][1] == 1
    assert not any("nobody" in line for line in text.splitlines())
    for name in ("process_cpu_seconds_total", "process_resident_memory_bytes"):
        assert samples(text, name)[0][1] > 0
    assert samples(text, "gridlight_workers_reporting") == [({}, 1.0)]
    assert "# TYPE gridlight_sse_delivery_latency_seconds histogram" in text


def test_openmetrics_when_asked(client):
    r = client.get("/metrics", headers={"Accept": "application/openmetrics-text; version=1.0.0"})
    assert r.headers["Content-Type"].startswith("application/openmetrics-text; version=1.0.0")
    assert r.get_data(as_text=True).endswith("# EOF\n")


def test_facade_counts_by_name():
    metrics = Metrics()
    metrics.add("gridlight_sse_events_sent_total", 3)
    metrics.add("gridlight_sse_clients_connected")
    metrics.add("gridlight_sse_clients_connected", -1)
    metrics.add("gridlight_sse_clients_connected")
    assert metrics.values["gridlight_sse_events_sent_total"] == 3
    assert metrics.values["gridlight_sse_clients_connected"] == 1
    with pytest.raises(ValueError, match="negative"):
        metrics.add("gridlight_sse_events_sent_total", -1)  # a counter never goes down
    metrics.set_lag("A", 0.25)
    metrics.observe_delivery(100.0, now_s=100.5)
    metrics.observe_delivery(100.0, now_s=99.0)  # a replay's clock ahead of the wall clock
    assert metrics.registry.get_sample_value(
        "gridlight_reader_lag_seconds", {"household": "A"}
    ) == pytest.approx(0.25)
    latency = "gridlight_sse_delivery_latency_seconds"
    assert metrics.registry.get_sample_value(f"{latency}_count") == 2
    assert metrics.registry.get_sample_value(f"{latency}_sum") == pytest.approx(0.5)


def test_counter_registered_later_shows_at_zero():
    metrics = Metrics()
    name = "gridlight_test_registered_late_total"
    register_counter(name, "A counter registered after the metrics were made.")
    try:
        assert name not in metrics.values
        metrics.ensure_registered()
        assert metrics.values[name] == 0
        metrics.add(name, 2)
        assert metrics.values[name] == 2
    finally:
        COUNTERS.pop(name)
