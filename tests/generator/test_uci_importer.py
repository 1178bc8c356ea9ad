"""The UCI importer on the real files in ../shared/data/real."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from generator.dataset import DatasetError, read_dataset
from generator.importers.uci import UCI_CHANNELS, import_uci, read_uci

JAN = "uci_household_power_2007-01.txt"
GAP = "uci_household_power_2007-04-21_to_05-04_with_gap.txt"


def test_january_file_channels_units_and_timezone(real_data_dir):
    frame = read_uci(real_data_dir / JAN)
    assert list(frame.columns) == list(UCI_CHANNELS)
    assert str(frame.index.tz) == "UTC"
    # 1/1/2007 00:00 in Paris (CET, UTC+1) is 2006-12-31 23:00 UTC.
    assert frame.index[0] == pd.Timestamp("2006-12-31T23:00:00Z")
    assert (frame.index.to_series().diff().iloc[1:] == pd.Timedelta(seconds=60)).all()
    # First row: Global_active_power 2.580 kW, sub-meters 0 Wh.
    assert_allclose(frame.iloc[0].to_numpy(), [2.58, 0.0, 0.0, 0.0])
    raw = pd.read_csv(real_data_dir / JAN, sep=";", na_values="?")
    # Sub-metering is Wh per minute: kW = Wh * 60 / 1000.
    assert_allclose(
        frame["HeaterAC"].to_numpy(), raw["Sub_metering_3"].to_numpy() * 0.06, equal_nan=True
    )
    assert frame["HeaterAC"].max() == pytest.approx(raw["Sub_metering_3"].max() * 0.06)


def test_outage_stays_missing(real_data_dir):
    frame = read_uci(real_data_dir / GAP)
    raw_missing = (
        pd.read_csv(real_data_dir / GAP, sep=";", dtype=str)["Global_active_power"] == "?"
    ).sum()
    assert raw_missing >= 3722  # the README counts the 2.5-day outage alone
    missing = frame["Overall"].isna()
    assert missing.sum() >= raw_missing
    # The outage is one long run (about 2.5 days) and never zero-filled.
    runs = missing.astype(int).diff().fillna(0).ne(0).cumsum()[missing]
    assert runs.value_counts().max() >= 3600
    assert not (frame["Overall"] == 0).any()


def test_cli_writes_dataset(real_data_dir, tmp_path):
    out = tmp_path / "uci"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "generator",
            "import",
            "uci",
            str(real_data_dir / JAN),
            "--household",
            "uci",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    ds = read_dataset(out)
    info = ds.household("uci")
    assert info.timezone == "Europe/Paris" and info.resolution_s == 60
    assert list(ds.table.columns) == [f"uci_{c}" for c in UCI_CHANNELS]
    assert ds.fingerprint == import_uci(real_data_dir / JAN, "uci").dataset.fingerprint


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["missing-file.txt", "--household", "uci"], "does not exist"),
        (["{jan}", "--household", "bad_id"], "invalid household id"),
    ],
)
def test_cli_bad_input_exits_2(real_data_dir, tmp_path, args, message):
    args = [a.format(jan=real_data_dir / JAN) for a in args]
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "import", "uci", *args, "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert message in proc.stderr
    assert not out.exists()


def test_not_uci_format(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("a,b,c\n1,2,3\n")
    with pytest.raises(DatasetError, match="missing column"):
        read_uci(bad)
