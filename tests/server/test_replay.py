"""The replay driver (pure: fake clock and sleep) and its CLI."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from numpy.testing import assert_allclose

from generator.replay import Meter, replay
from server.streaming.aggregate import WindowAggregator


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def test_generator_replay_is_pure():
    source = Path(__file__).resolve().parents[2] / "generator" / "replay.py"
    tree = ast.parse(source.read_text())
    names = {
        a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names
    }
    names |= {
        n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module
    }
    assert not names & {"flask", "redis", "paho", "server", "gevent"}


def test_index_is_second_of_day_on_a_day_with_the_same_weekday(dataset):
    meter = Meter(dataset, "A")
    zone = ZoneInfo(dataset.household("A").timezone)
    frame = dataset.frame("A", faulty=dataset.faulty is not None)
    first_local = frame.index[0].tz_convert(zone)
    # a wall-clock moment on the same weekday as the dataset's first day, weeks later
    moment = datetime(2026, 11, 22, 13, 45, 7, tzinfo=zone)
    while moment.weekday() != first_local.weekday():
        moment = moment.replace(day=moment.day + 1)
    index = meter.index_at(int(moment.timestamp()))
    assert index == 13 * 3600 + 45 * 60 + 7
    r = meter.reading_at(int(moment.timestamp()))
    assert r["ts"] == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    row = frame.iloc[index]
    for channel in meter.channels:
        expected = row[channel]
        if np.isnan(expected):
            assert r["power_kw"][channel] is None
        else:
            assert_allclose(r["power_kw"][channel], expected)


def test_replay_publishes_every_second_in_order_at_speed(dataset):
    clock = FakeClock(1_795_000_000.25)
    got: list[tuple[str, dict]] = []
    stats = replay(
        dataset,
        ["A", "B"],
        lambda h, reading: got.append((h, reading)),
        speed=50,
        clock=clock,
        sleep=clock.sleep,
        duration_s=100,
    )
    assert stats.seconds == 100 and stats.published == 200
    assert clock.now - 1_795_000_000.25 == pytest.approx(100 / 50, abs=0.05)
    a = [reading for h, reading in got if h == "A"]
    ts = [datetime.fromisoformat(x["ts"]).timestamp() for x in a]
    assert ts == [1_795_000_001 + i for i in range(100)]
    assert np.all(np.diff([x["index"] for x in a]) == 1)


def test_readings_are_kept_while_the_sink_is_down(dataset):
    clock = FakeClock(1_795_000_000.0)
    got: list[int] = []
    down = {"calls": 0}

    def publish(household: str, reading: dict) -> None:
        if 20 <= len(got) < 21 and down["calls"] < 5:
            down["calls"] += 1
            raise ConnectionError("sink down")
        got.append(reading["index"])

    stats = replay(
        dataset,
        ["A"],
        publish,
        speed=10,
        clock=clock,
        sleep=clock.sleep,
        duration_s=60,
        resend_s=0,  # only what was kept; re-sending is the next test's
    )
    assert stats.failures == 5 and stats.dropped == 0 and stats.resent == 0
    assert got == list(range(got[0], got[0] + 60))


def test_a_broker_that_comes_back_empty_loses_no_reading(dataset):
    """A Redis restarted without persistence: what its reader had not read yet is gone, and the
    publish that met the stop was stored although it raised. The replay sends the readings of
    the last ``resend_s`` again; the reader's windows are those of an outage-free run."""
    interval_s = 5

    def windows(outage: bool) -> list[tuple[int, dict]]:
        clock = FakeClock(1_795_000_000.0)
        stream: list[dict] = []
        read = 0  # the reader's cursor into stream
        down = {"calls": 0, "done": not outage}
        agg = WindowAggregator(("Overall", "AC", "Geyser"), interval_s)
        out: list[tuple[int, dict]] = []

        def consume() -> None:
            nonlocal read
            for i in range(read, len(stream)):
                for w in agg.feed(f"{1000 + i}-0", stream[i]):
                    out.append((w.start_s, w.power_kw))
            read = len(stream)

        def publish(household: str, reading: dict) -> None:
            if not down["done"] and len(stream) == 42:
                consume()  # the reader is at 42 (inside a window); the next readings it will never see
            if not down["done"] and len(stream) == 44:
                stream.append(reading)  # stored, but the reply never came
                del stream[read:]  # the broker stops and comes back empty
                down["calls"] += 1
                down["done"] = down["calls"] == 3
                raise ConnectionError("broker restarting")
            stream.append(reading)

        stats = replay(
            dataset, ["A"], publish, speed=10, clock=clock, sleep=clock.sleep, duration_s=60
        )
        consume()
        assert stats.dropped == 0
        if outage:
            assert stats.failures == 3 and stats.resent > 3
        return out

    clean = windows(outage=False)
    assert len(clean) >= 10
    assert windows(outage=True) == clean


def test_bad_speed(dataset):
    with pytest.raises(ValueError, match="speed must be a positive number, got 0"):
        replay(dataset, ["A"], lambda h, r: None, speed=0)


def test_cli_replays_to_stdout(dataset_dir):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator",
            "replay",
            "--dataset",
            str(dataset_dir),
            "--households",
            "A",
            "C",
            "--to",
            "stdout:",
            "--speed",
            "1000",
            "--duration-s",
            "5",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert [x["household"] for x in lines] == ["A", "C"] * 5
    assert "replayed 5 s: 10 readings published" in out.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "ftp://x"], "unsupported --to URL 'ftp://x'"),
        (["--to", "stdout:", "--speed", "0"], "invalid speed '0'"),
        (["--to", "stdout:", "--households", "Z"], "unknown household 'Z'"),
    ],
)
def test_cli_bad_input(dataset_dir, args, message):
    out = subprocess.run(
        [sys.executable, "-m", "generator", "replay", "--dataset", str(dataset_dir), *args],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert message in out.stderr
