"""Fixtures of the disaggregation tests: synthetic households A and B over ten warm days,
averaged to 1 minute (so that training takes a second or two), and models trained on A's first
seven days, built once per session."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from generator.dataset import Dataset, HouseholdInfo, column_name, write_dataset
from generator.synth import generate
from server.nilm import Disaggregator, load_channels
from server.nilm.data import to_resolution

RESOLUTION_S = 60
DAYS = 10
#: Seven local days after the start (2026-04-06 00:00 Asia/Kolkata).
UNTIL = pd.Timestamp("2026-04-12T18:30:00Z")


def minute_dataset(days: int = DAYS, households: tuple[str, ...] = ("A", "B")) -> Dataset:
    """Synthetic households averaged from 1 s to 1 min, as a dataset at 60 s."""
    ds = generate(households=households, days=days, seed=5, start="2026-04-06")
    table = to_resolution(ds.table, RESOLUTION_S)
    infos = {
        h: HouseholdInfo(**{**info.__dict__, "resolution_s": RESOLUTION_S})
        for h, info in ds.households.items()
    }
    return Dataset(households=infos, table=table)


def only_overall(dataset_dir: Path, household: str, out: Path) -> Path:
    """A dataset holding nothing but ``household``'s Overall channel."""
    series = load_channels(dataset_dir, household, ["Overall"])
    info = HouseholdInfo(**{**series.info.__dict__, "channels": ("Overall",)})
    table = series.frame.rename(columns={"Overall": column_name(household, "Overall")})
    return write_dataset(Dataset(households={household: info}, table=table), out)


@pytest.fixture(scope="session")
def nilm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_dataset(minute_dataset(), tmp_path_factory.mktemp("nilm") / "synth")


@pytest.fixture(scope="session")
def ac_model(nilm_dir: Path) -> Disaggregator:
    from server.nilm import train_from_dataset

    return train_from_dataset(nilm_dir, "A", "AC", until=UNTIL)


@pytest.fixture(scope="session")
def causal_model(nilm_dir: Path) -> Disaggregator:
    from server.nilm import train_from_dataset

    return train_from_dataset(nilm_dir, "A", "AC", until=UNTIL, causal=True)
