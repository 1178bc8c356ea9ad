"""Validation of incoming readings: pure functions, every reason names the bad value."""

from __future__ import annotations

import math

import pytest

from server.ingest.mqtt import IngestError, decode, parse_mqtt_url, parse_topic
from server.ingest.validate import (
    MAX_AHEAD_S,
    InvalidReading,
    check_batch,
    check_value,
    parse_timestamp,
)
from server.storage import Reading

NOW = 1_763_792_750
WEEK = 7 * 86_400
CHANNELS = ("AC", "Overall")


def test_timestamps_iso_and_epoch() -> None:
    assert parse_timestamp("2025-11-22T06:25:50Z") == NOW
    assert parse_timestamp("2025-11-22T11:55:50+05:30") == NOW
    assert parse_timestamp(NOW + 0.9) == NOW
    with pytest.raises(InvalidReading, match="no time zone"):
        parse_timestamp("2025-11-22T06:25:50")
    with pytest.raises(InvalidReading, match="'yesterday' is not a timestamp"):
        parse_timestamp("yesterday")
    with pytest.raises(InvalidReading, match="not a timestamp"):
        parse_timestamp(True)
    with pytest.raises(InvalidReading, match="finite"):
        parse_timestamp(math.inf)


def test_values() -> None:
    assert check_value("AC", 1) == 1.0
    assert check_value("AC", None) is None  # unavailable, never zero
    assert check_value("AC", -0.4) == -0.4  # a meter fault, kept for classification (critical)
    for bad, reason in ((math.nan, "finite"), (math.inf, "finite"), ("1.2", "expected a number")):
        with pytest.raises(InvalidReading, match=reason):
            check_value("AC", bad)
    with pytest.raises(InvalidReading, match="True"):
        check_value("AC", True)


def test_batch_keeps_good_values_around_bad_ones() -> None:
    readings = [
        {"ts": NOW, "power_kw": {"AC": 1.0, "Overall": 2.0}},
        {"ts": NOW + 1, "power_kw": {"AC": math.nan, "Overall": 2.5}},
        {"ts": NOW + 2, "channel": "Geyser", "power_kw": 1.0},
        {"ts": NOW + MAX_AHEAD_S + 10, "power_kw": {"AC": 1.0}},
        {"ts": NOW - WEEK - 1, "power_kw": {"AC": 1.0}},
        "junk",
        {"power_kw": {"AC": 1.0}},
        {"ts": NOW + 3, "channel": "AC", "power_kw": None},
        {"ts": NOW + 4, "power_kw": 3},
    ]
    out = check_batch("L1", CHANNELS, readings, NOW, WEEK)
    assert out.rows == [
        Reading("L1", "AC", NOW, 1.0),
        Reading("L1", "Overall", NOW, 2.0),
        Reading("L1", "Overall", NOW + 1, 2.5),
        Reading("L1", "AC", NOW + 3, None),
    ]
    reasons = {(r.index, r.channel): r.reason for r in out.rejected}
    assert "finite" in reasons[(1, "AC")]
    assert "unknown channel 'Geyser'" in reasons[(2, "Geyser")]
    assert "ahead of the server's clock" in reasons[(3, None)]
    assert "older than the raw retention" in reasons[(4, None)]
    assert "JSON object" in reasons[(5, None)]
    assert "needs ts" in reasons[(6, None)]
    assert "power_kw must be an object" in reasons[(8, None)]
    assert len(out.rejected) == 7


def test_topics_and_urls() -> None:
    assert parse_topic("gridlight/L1/AC/power") == ("L1", "AC")
    assert parse_topic("gridlight/L1/readings") == ("L1", None)
    with pytest.raises(IngestError, match="not gridlight"):
        parse_topic("gridlight/L1/AC/energy")
    address = parse_mqtt_url("mqtt://u:p%40ss@broker.local")
    assert (address.host, address.port, address.username, address.password) == (
        "broker.local",
        1883,
        "u",
        "p@ss",
    )
    assert parse_mqtt_url("mqtts://b:9000").tls
    with pytest.raises(IngestError, match="expected mqtt://"):
        parse_mqtt_url("http://b")


def test_decode_payload_shapes() -> None:
    def known(h: str):  # noqa: ANN202
        return CHANNELS if h == "L1" else None

    assert decode("gridlight/L1/AC/power", b"1.5", known, NOW) == (
        "L1",
        [{"ts": NOW, "power_kw": {"AC": 1.5}}],
    )
    assert decode("gridlight/L1/AC/power", b'{"ts": 5, "power_kw": null}', known, NOW) == (
        "L1",
        [{"ts": 5, "power_kw": {"AC": None}}],
    )
    body = b'{"ts": "2025-11-22T06:25:50Z", "power_kw": {"AC": 1}}'
    assert decode("gridlight/L1/readings", body, known, NOW)[1][0]["power_kw"] == {"AC": 1}
    with pytest.raises(IngestError, match="unknown household 'X'"):
        decode("gridlight/X/readings", body, known, NOW)
    with pytest.raises(IngestError, match="not JSON"):
        decode("gridlight/L1/AC/power", b"one point five", known, NOW)
    with pytest.raises(IngestError, match="must be a JSON object"):
        decode("gridlight/L1/readings", b"42", known, NOW)
