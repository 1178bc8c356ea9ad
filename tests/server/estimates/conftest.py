"""Fixtures of the live-estimates tests: causal and centred AC models trained on synthetic
household A (three days at 1 min), apps on one data directory sharing a real Redis (broker and
the estimator's lease), and helpers that wait with a deadline (never sleeping to sync)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
from flask import Flask

from generator.times import parse_ts
from server import create_app
from server.cli import main
from server.nilm import Disaggregator
from tests.server.nilm.conftest import minute_dataset

R = 60  # the model's resolution [s]
TZ = "Asia/Kolkata"


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict:
    ds = minute_dataset(days=3, households=("A",))
    info = ds.household("A")
    frame = ds.frame("A")
    out = tmp_path_factory.mktemp("live-models")
    causal = Disaggregator.fit(frame, "AC", info, causal=True, min_history_days=2)
    centred = Disaggregator.fit(frame, "AC", info, causal=False, min_history_days=2)
    need = causal.context_samples
    ac_on = frame["AC"].to_numpy(dtype=float) * 1000.0 > causal.on_threshold_w
    # a stretch whose estimated windows (need-1 .. need+4) have the AC on, then off
    offset = next(
        i for i in range(len(frame) - need - 10) if ac_on[i + need + 2] and not ac_on[i + need + 4]
    )
    return {
        "model": causal,
        "offset": offset,
        "offset_s": int(frame.index[offset].timestamp()),
        "path": causal.save(out / "ac-causal.model"),
        "centred": centred.save(out / "ac-centred.model"),
        "overall_kw": np.round(frame["Overall"].to_numpy(dtype=float), 3)[offset:],
    }


@pytest.fixture
def make_app(tmp_path: Path, redis_server, monkeypatch) -> Iterator[Callable[..., Flask]]:  # noqa: ANN001
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("GRIDLIGHT_DATABASE_URL", raising=False)
    data = tmp_path / "data"
    data.mkdir()
    apps: list[Flask] = []

    def make(**config: object) -> Flask:
        base = {
            "TESTING": True,
            "DATA_DIR": str(data),
            "STATS_CACHE_DIR": str(tmp_path / "stats"),
            "REDIS_URL": redis_server.url,
            "DEMO": False,
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "PUSH_ENABLED": False,
            "ALERTS_ENABLED": False,
            "NILM_ENABLED": True,
            "NILM_SYNC_S": 0.05,
            "SILENT_GRACE_S": 30 * 86_400,
        }
        base.update(config)
        app = create_app(base)
        app.extensions["gridlight"].start()
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["estimates"].stop()
        app.extensions["widget_api"].stop()
        app.extensions["gridlight"].stop()


def cli(*args: str) -> int:
    return main(["nilm", *args])


def ac_entries(app: Flask, household: str) -> list[tuple[int, float, dict]]:
    """``(ts [s], AC [kW], reading)`` of the estimated readings in the household's stream."""
    broker = app.extensions["gridlight"].broker
    entries = broker.revrange(household, None, 100_000)
    return sorted(
        (parse_ts(r["ts"]), r["power_kw"]["AC"], r) for _, r in entries if "AC" in r["power_kw"]
    )


def live_household(
    app: Flask, trained: dict, household: str = "L"
) -> tuple[int, str, Callable[[int, int], None]]:
    """A live household with only an Overall channel, and ``post(first, last)``, which uploads
    readings ``first .. last - 1`` of ``trained["overall_kw"]`` (one per model window) with the
    household's key: the start ``t0`` [s] is two days ago at the local time of the model's
    stretch (back-dated within the raw retention). Returns ``(t0, key, post)``."""
    _, key = app.extensions["gridlight"].keys.add_household(household, ("Overall",), timezone=TZ)
    client = app.test_client()
    overall = trained["overall_kw"]
    now = int(time.time())
    t0 = now - now % 86_400 - 2 * 86_400 + trained["offset_s"] % 86_400

    def post(first: int, last: int) -> None:
        readings = [
            {"ts": t0 + i * R, "power_kw": {"Overall": float(overall[i])}}
            for i in range(first, last)
        ]
        r = client.post(
            f"/api/v1/households/{household}/readings",
            json={"readings": readings},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert r.status_code == 200, r.get_data(as_text=True)

    return t0, key, post
