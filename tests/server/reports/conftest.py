"""Fixtures of the report tests: a crafted dataset (1-minute readings from 2026-01-20 to
2026-03-05, Europe/Copenhagen) of household ``Z`` with a non-ASCII name and ``Y`` (never open), and an
app factory whose scheduler renders inline (no pool) so that tests stay fast."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from flask import Flask

from generator.dataset import Dataset, HouseholdInfo, column_name, write_dataset
from server import create_app

NAME = "Zoë's Café – Ålesund"
ZONE = "Europe/Copenhagen"
START = pd.Timestamp("2026-01-20", tz=ZONE).tz_convert("UTC")
END = pd.Timestamp("2026-03-05", tz=ZONE).tz_convert("UTC")
#: A flat tariff, so that a test can price the month independently.
FLAT = {"type": "flat", "currency": "EUR", "price_per_kwh": 0.25, "standing_charge_per_day": 0.5}


def crafted_frame() -> pd.DataFrame:
    """Overall [kW]: 0.4 always, +1.5 in local evening hours (17-21), +0.02 × day of month;
    Heater [kW]: 0.8 from 02:00 to 04:59 local. One-minute readings."""
    index = pd.date_range(START, END, freq="60s", inclusive="left", name="ts")
    local = index.tz_convert(ZONE)
    hour = local.hour.to_numpy()
    heater = np.where((hour >= 2) & (hour < 5), 0.8, 0.0)
    overall = 0.4 + np.where((hour >= 17) & (hour < 22), 1.5, 0.0) + 0.02 * local.day.to_numpy()
    overall = overall + heater
    return pd.DataFrame({"Overall": overall, "Heater": heater}, index=index)


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return crafted_frame()


@pytest.fixture(scope="session")
def reports_dataset(tmp_path_factory: pytest.TempPathFactory, frame: pd.DataFrame) -> Path:
    infos = {
        h: HouseholdInfo(
            id=h,
            name=NAME if h == "Z" else "Yellow house",
            archetype="crafted",
            timezone=ZONE,
            channels=("Overall", "Heater"),
            resolution_s=60,
            source="test",
        )
        for h in ("Z", "Y")
    }
    table = pd.DataFrame(
        {column_name(h, c): frame[c] for h in infos for c in ("Overall", "Heater")},
        index=frame.index,
    )
    root = tmp_path_factory.mktemp("reports-dataset")
    return write_dataset(Dataset(households=infos, table=table), root / "crafted")


@pytest.fixture
def make_app(tmp_path: Path, reports_dataset: Path) -> Iterator[Callable[..., Flask]]:
    """Apps over one data directory (so they share one database), household Z open (demo)."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "crafted").symlink_to(reports_dataset, target_is_directory=True)
    apps: list[Flask] = []

    def make(**config: object) -> Flask:
        base = {
            "TESTING": True,
            "DATA_DIR": str(data),
            "STATS_CACHE_DIR": str(tmp_path / "stats"),
            "REDIS_URL": None,
            "DEMO": True,
            "DEMO_HOUSEHOLDS": ["Z"],
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "PUSH_ENABLED": False,
            "REPORTS_WORKERS": 0,
            "REPORTS_EMAIL_BACKOFF_S": 0.01,
        }
        base.update(config)
        app = create_app(base)
        app.extensions["reports"].tariff_for = lambda info: _flat(info)
        apps.append(app)
        return app

    yield make
    for app in apps:
        app.extensions["gridlight"].stop()


def _flat(info: HouseholdInfo):  # noqa: ANN202
    from server.insights import Tariff

    return Tariff.from_json(FLAT)


def utc(local: str) -> float:
    """Epoch seconds of a local time in the crafted zone."""
    return pd.Timestamp(local, tz=ZONE).timestamp()
