"""Publish 1 Hz household readings for the Flask-SSE baseline with ``sse.publish``.

``python benchmarks/sse_baseline/publish.py --dataset DIR --households A B C --to REDIS_URL``

At every whole second ``T`` of the wall clock it publishes, for each household, the reading of
the window ``[T-1, T)`` in the same event shape Gridlight sends (``household``, ``interval_s``,
``ts``, ``power_kw``, ``level``, ``worst``), taken from the dataset row of that second of the day in
the household's time zone, with levels from the dataset's own 75th and 99th percentiles.

The event id comes from an ``XADD`` of the same payload to ``bench:baseline:{household}``: the
id's milliseconds are the publish time, and the benchmark reads that stream back to know exactly
which events every client should have received — the same bookkeeping as for Gridlight's Redis
streams. Flask-SSE itself only uses pub/sub (channel = household).
"""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app import create_app  # noqa: E402
from flask_sse import sse  # noqa: E402

from generator.dataset import read_dataset  # noqa: E402

STREAM_KEY = "bench:baseline:{household}"
STREAM_MAXLEN = 100_000


class Household:
    """One household's 1 Hz rows, channels and percentile thresholds."""

    def __init__(self, household: str, frame, timezone: str) -> None:  # noqa: ANN001
        self.id = household
        self.channels = list(frame.columns)
        self.values_kw = frame.to_numpy(dtype=float)
        clean = np.where(np.isfinite(self.values_kw), self.values_kw, np.nan)
        self.p75_kw = np.nanpercentile(clean, 75, axis=0)
        self.p99_kw = np.nanpercentile(clean, 99, axis=0)
        self.zone = ZoneInfo(timezone)

    def payload(self, ts_s: int) -> str:
        local = datetime.fromtimestamp(ts_s, UTC).astimezone(self.zone)
        row = (local.hour * 3600 + local.minute * 60 + local.second) % len(self.values_kw)
        power_kw, level = {}, {}
        rank = {"green": 0, "yellow": 1, "red": 2, "critical": 3}
        worst = "green"
        for j, channel in enumerate(self.channels):
            value = float(self.values_kw[row, j])
            if not math.isfinite(value) or value < 0:
                power_kw[channel], lvl = None, "critical"
            else:
                power_kw[channel] = round(value, 3)
                lvl = (
                    "red"
                    if value >= self.p99_kw[j]
                    else "yellow"
                    if value > self.p75_kw[j]
                    else "green"
                )
            level[channel] = lvl
            if rank[lvl] > rank[worst]:
                worst = lvl
        ts = datetime.fromtimestamp(ts_s, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return json.dumps(
            {
                "household": self.id,
                "interval_s": 1,
                "ts": ts,
                "power_kw": power_kw,
                "level": level,
                "worst": worst,
            },
            separators=(",", ":"),
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", required=True, type=Path)
    parser.add_argument("--households", nargs="+", required=True)
    parser.add_argument("--to", required=True, help="Redis URL")
    parser.add_argument("--seconds", type=int, default=0, help="stop after this many (0: never)")
    args = parser.parse_args(argv)

    dataset = read_dataset(args.dataset, faulty=False)
    households = [
        Household(h, dataset.frame(h), dataset.household(h).timezone) for h in args.households
    ]
    log = redis.Redis.from_url(args.to)
    app = create_app()
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(True))
    published = 0
    with app.app_context():
        next_s = math.floor(time.time()) + 1
        while not stop and (args.seconds <= 0 or published < args.seconds):
            time.sleep(max(0.0, next_s - time.time()))
            for household in households:
                data = household.payload(next_s - 1)
                entry_id = log.xadd(
                    STREAM_KEY.format(household=household.id),
                    {"data": data},
                    maxlen=STREAM_MAXLEN,
                    approximate=True,
                ).decode()
                sse.publish(data, type="reading", id=entry_id, channel=household.id)
            published += 1
            next_s = max(next_s + 1, math.floor(time.time()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
