"""``python -m generator import csv``: a generic meter CSV with a column map."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose

from generator.dataset import DatasetError, read_dataset
from generator.importers.csv_meter import import_csv, parse_map
from tests.generator.cli_helpers import run_cli, server_stats

UKDALE_CSV = "ukdale_house2_2013-06-08_2min_W.csv"


def write(tmp_path: Path, text: str, name: str = "meter.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_units_w_kw_and_default(tmp_path):
    path = write(
        tmp_path,
        "time,total_w,aircon_kw\n"
        "2024-05-01T00:00:00,1500,0.25\n"
        "2024-05-01T00:01:00,2000.5,1.75\n"
        "2024-05-01T00:02:00,0,0\n",
    )
    ds = import_csv(path, "flat", "ts=time,Overall=total_w:W,AC=aircon_kw").dataset
    assert list(ds.table.columns) == ["flat_Overall", "flat_AC"]
    assert ds.table.index[0] == pd.Timestamp("2024-05-01T00:00:00Z")
    assert_allclose(ds.table["flat_Overall"].to_numpy(), [1.5, 2.0005, 0.0])
    assert_allclose(ds.table["flat_AC"].to_numpy(), [0.25, 1.75, 0.0])
    info = ds.household("flat")
    assert (info.resolution_s, info.timezone, info.source) == (60, "UTC", "csv:meter.csv")
    assert info.channels == ("Overall", "AC")


def test_kwh_per_sample_uses_the_sample_interval(tmp_path):
    # 15-minute energy: 0.5 kWh in 15 min is 2 kW on average.
    path = write(
        tmp_path,
        "start,kwh\n2024-01-01 00:00,0.5\n2024-01-01 00:15,0.25\n2024-01-01 00:30,0.1\n",
    )
    ds = import_csv(path, "h", "ts=start,Overall=kwh:kWh").dataset
    assert ds.household("h").resolution_s == 900
    assert_allclose(ds.table["h_Overall"].to_numpy(), [2.0, 1.0, 0.4])


def test_kwh_conversion_keeps_the_sample_interval_at_a_coarser_resolution(tmp_path):
    path = write(
        tmp_path,
        "t,e\n"
        "2024-01-01T00:00:00Z,0.01\n"
        "2024-01-01T00:01:00Z,0.03\n"
        "2024-01-01T00:02:00Z,0.02\n"
        "2024-01-01T00:03:00Z,0.04\n",
    )
    result = import_csv(path, "h", "ts=t,Overall=e:kWh", resolution_s=120)
    assert result.sample_interval_s == 60
    # 0.01 and 0.03 kWh per minute are 0.6 and 1.8 kW; their 2-minute mean is 1.2 kW.
    assert_allclose(result.dataset.table["h_Overall"].to_numpy(), [1.2, 1.8])
    assert result.dataset.household("h").resolution_s == 120


def test_gaps_and_blank_cells_stay_missing(tmp_path):
    path = write(
        tmp_path,
        "time,p\n"
        "2024-05-01T00:00:00Z,1\n"
        "2024-05-01T00:01:00Z,\n"
        "2024-05-01T00:02:00Z,2\n"
        "2024-05-01T00:05:00Z,3\n",
    )
    result = import_csv(path, "h", "ts=time,Overall=p")
    table = result.dataset.table
    assert len(table) == 6 and result.dataset.household("h").resolution_s == 60
    assert_allclose(table["h_Overall"].to_numpy(), [1, np.nan, 2, np.nan, np.nan, 3])
    assert not (table["h_Overall"] == 0).any()
    assert result.bad_cells == 0  # a blank cell is missing, not unparsable


def test_unparsable_cells_become_nan_and_are_counted(tmp_path):
    path = write(
        tmp_path,
        "time,a,b\n"
        "2024-05-01T00:00:00Z,1,oops\n"
        "2024-05-01T00:01:00Z,n/a,2\n"
        "2024-05-01T00:02:00Z,1.5kW,3\n",
    )
    result = import_csv(path, "h", "ts=time,Overall=a,AC=b")
    assert result.bad_cells == 2  # 'oops' and '1.5kW'; 'n/a' is a missing marker
    assert_allclose(result.dataset.table["h_Overall"].to_numpy(), [1, np.nan, np.nan])
    assert_allclose(result.dataset.table["h_AC"].to_numpy(), [np.nan, 2, 3])


def test_rows_sorted_and_duplicates_keep_the_last(tmp_path, capsys):
    path = write(
        tmp_path,
        "time,p\n"
        "2024-05-01T00:02:00Z,3\n"
        "2024-05-01T00:00:00Z,1\n"
        "2024-05-01T00:01:00Z,2\n"
        "2024-05-01T00:01:00Z,2.5\n"
        "2024-05-01T00:02:00Z,4\n",
    )
    result = import_csv(path, "h", "ts=time,Overall=p")
    assert result.duplicates == 2
    assert_allclose(result.dataset.table["h_Overall"].to_numpy(), [1, 2.5, 4])
    out = tmp_path / "ds"
    code, stdout, _ = run_cli(
        ["import", "csv", str(path), "--household", "h", "--map", "ts=time,Overall=p"]
        + ["--out", str(out)],
        capsys,
    )
    assert code == 0
    assert "2 duplicate timestamps (kept the last)" in stdout
    assert "imported 3 rows at 60 s" in stdout


def test_naive_times_are_in_the_given_zone_and_aware_times_keep_their_offset(tmp_path):
    naive = write(tmp_path, "t,p\n2024-07-01 12:00:00,1\n2024-07-01 12:01:00,2\n", "naive.csv")
    aware = write(
        tmp_path, "t,p\n2024-07-01T12:00:00+02:00,1\n2024-07-01T12:01:00+02:00,2\n", "aware.csv"
    )
    paris = import_csv(naive, "h", "ts=t,Overall=p", timezone="Europe/Paris").dataset
    utc = import_csv(naive, "h", "ts=t,Overall=p").dataset
    offset = import_csv(aware, "h", "ts=t,Overall=p", timezone="Asia/Kolkata").dataset
    # Paris is UTC+2 in July; without --timezone naive times are UTC.
    assert paris.table.index[0] == pd.Timestamp("2024-07-01T10:00:00Z")
    assert utc.table.index[0] == pd.Timestamp("2024-07-01T12:00:00Z")
    assert offset.table.index[0] == pd.Timestamp("2024-07-01T10:00:00Z")
    assert paris.household("h").timezone == "Europe/Paris"
    assert offset.household("h").timezone == "Asia/Kolkata"


def test_offsets_that_change_across_dst(tmp_path):
    # London leaves BST at 02:00 local on 27 Oct 2024: the offset changes within the file.
    path = write(
        tmp_path,
        "t,p\n2024-10-27T01:59:00+01:00,1\n2024-10-27T01:00:00+00:00,2\n"
        "2024-10-27T01:01:00+00:00,3\n",
    )
    ds = import_csv(path, "h", "ts=t,Overall=p").dataset
    assert ds.table.index[0] == pd.Timestamp("2024-10-27T00:59:00Z")
    assert ds.table.index[-1] == pd.Timestamp("2024-10-27T01:01:00Z")
    assert_allclose(ds.table["h_Overall"].dropna().to_numpy(), [1, 2, 3])


def test_epoch_seconds(tmp_path):
    path = write(
        tmp_path, "epoch,p\n1700000000,0.5\n1700000010,0.7\n1700000020.0,0.8\n1700000040,0.9\n"
    )
    ds = import_csv(path, "h", "ts=epoch,Overall=p").dataset
    assert ds.table.index[0] == pd.Timestamp(1700000000, unit="s", tz="UTC")
    assert ds.household("h").resolution_s == 10  # the median spacing
    assert_allclose(ds.table["h_Overall"].to_numpy(), [0.5, 0.7, 0.8, np.nan, 0.9])


def test_real_ukdale_export_with_local_offsets(real_data_dir):
    path = real_data_dir / UKDALE_CSV
    result = import_csv(
        path,
        "h2",
        "ts=timestamp_local,Overall=mains_W:W,Fridge=fridge_1_W:W",
        timezone="Europe/London",
    )
    raw = pd.read_csv(path)
    table = result.dataset.table
    # 2013-06-08 00:00 in London (BST, UTC+1) is 23:00 UTC the day before.
    assert table.index[0] == pd.Timestamp("2013-06-07T23:00:00Z")
    assert result.dataset.household("h2").resolution_s == 120
    assert len(table) == len(raw) and result.duplicates == 0 and result.bad_cells == 0
    assert_allclose(table["h2_Overall"].to_numpy(), raw["mains_W"].to_numpy() / 1000)
    assert_allclose(table["h2_Fridge"].to_numpy(), raw["fridge_1_W"].to_numpy() / 1000)


def test_round_trip_through_the_cli_and_server_stats(tmp_path):
    rows = ["time,total_w,aircon_kw"]
    start = pd.Timestamp("2024-05-01T00:00:00")
    for i in range(240):
        if 100 <= i < 110:
            continue  # a ten-minute gap
        rows.append(f"{(start + pd.Timedelta(minutes=i)).isoformat()},{500 + 10 * (i % 7)},{i % 3}")
    path = write(tmp_path, "\n".join(rows) + "\n", "portal export.csv")
    out = tmp_path / "ds"
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "import", "csv", str(path), "--household", "flat-7"]
        + ["--map", "ts=time,Overall=total_w:W,AC=aircon_kw", "--timezone", "Asia/Kolkata"]
        + ["--name", "Flat 7", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "imported 240 rows at 60 s (10 with a missing value" in proc.stdout
    ds = read_dataset(out)
    info = ds.household("flat-7")
    assert (info.name, info.source, info.timezone) == (
        "Flat 7",
        "csv:portal export.csv",
        "Asia/Kolkata",
    )
    assert ds.table.index[0] == pd.Timestamp("2024-04-30T18:30:00Z")
    assert ds.table["flat-7_Overall"].isna().sum() == 10
    assert_allclose(ds.table["flat-7_Overall"].iloc[:3].to_numpy(), [0.5, 0.51, 0.52])
    report = server_stats(out, "flat-7", 60)
    assert report["household"] == "flat-7" and report["n_samples"]["Overall"] == 230


GOOD = "time,total_w,aircon_kw\n2024-05-01T00:00:00Z,1500,0.25\n2024-05-01T00:01:00Z,1600,0.5\n"


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        (
            GOOD,
            ["--map", "ts=time,Overall=total"],
            "no column 'total' in the file (its columns: 'time', 'total_w', 'aircon_kw')",
        ),
        (GOOD, ["--map", "ts=when,Overall=total_w"], "no column 'when' in the file"),
        (GOOD, ["--map", "ts=time,Overall=total_w:MW"], "invalid unit 'MW' for channel 'Overall'"),
        (GOOD, ["--map", "Overall=total_w:W"], "--map has no ts=<column>"),
        (GOOD, ["--map", "ts=time"], "--map names no channel"),
        (GOOD, ["--map", "ts=time,Over all=total_w"], "invalid channel name 'Over all'"),
        (GOOD, ["--map", "ts=time,A_C=total_w"], "invalid channel name 'A_C'"),
        (GOOD, ["--map", "ts=time,AC=total_w,AC=aircon_kw"], "channel 'AC' twice"),
        (GOOD, ["--map", "ts=time,total_w"], "invalid --map entry 'total_w'"),
        ("", ["--map", "ts=time,Overall=p"], "is empty"),
        ("time,p\n", ["--map", "ts=time,Overall=p"], "has a header but no rows"),
        (
            "time,p\nyesterday,1\nnoon,2\n",
            ["--map", "ts=time,Overall=p"],
            "no time in column 'time' could be read as ISO 8601 or epoch seconds",
        ),
        (
            "time,p\n2024-05-01T00:00:00Z,1\n2024-05-01T00:01:00,2\n",
            ["--map", "ts=time,Overall=p"],
            "mixes times with and without a UTC offset",
        ),
        (
            "ms,p\n1700000000000,1\n1700000060000,2\n",
            ["--map", "ts=ms,Overall=p"],
            "not milliseconds",
        ),
        ("time,p\n2024-05-01T00:00:00Z,1\n", ["--map", "ts=time,Overall=p"], "give --resolution"),
        (
            GOOD,
            ["--map", "ts=time,Overall=total_w", "--timezone", "Mars/Olympus"],
            "unknown time zone 'Mars/Olympus'",
        ),
        (
            GOOD,
            ["--map", "ts=time,Overall=total_w", "--resolution", "0"],
            "invalid resolution 0: must be positive",
        ),
        (
            GOOD,
            ["--map", "ts=time,Overall=total_w", "--resolution", "1.5"],
            "invalid resolution '1.5'",
        ),
        (
            GOOD,
            ["--map", "ts=time,Overall=total_w", "--household", "bad_id"],
            "invalid household id 'bad_id'",
        ),
    ],
)
def test_bad_input_exits_2_with_a_message(tmp_path, capsys, text, args, message):
    path = write(tmp_path, text)
    out = tmp_path / "ds"
    argv = ["import", "csv", str(path), "--household", "h", *args, "--out", str(out)]
    code, stdout, stderr = run_cli(argv, capsys)
    assert code == 2
    assert message in stderr
    assert "Traceback" not in stderr and stdout == ""
    assert not out.exists()


def test_missing_file_exits_2_without_a_traceback(tmp_path):
    out = tmp_path / "ds"
    proc = subprocess.run(
        [sys.executable, "-m", "generator", "import", "csv", str(tmp_path / "nope.csv")]
        + ["--household", "h", "--map", "ts=t,Overall=p", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "does not exist" in proc.stderr and "Traceback" not in proc.stderr
    assert not out.exists()


def test_parse_map_units_and_colons():
    spec = parse_map("ts=Zeit,Overall=Leistung (W):W,AC=ac:kwh,Geyser=geyser")
    assert spec.ts == "Zeit"
    assert [(c.channel, c.column, c.unit) for c in spec.channels] == [
        ("Overall", "Leistung (W)", "W"),
        ("AC", "ac", "kwh"),
        ("Geyser", "geyser", None),
    ]


def test_a_column_named_with_a_colon(tmp_path):
    path = write(tmp_path, "t,power:total\n2024-05-01T00:00:00Z,1\n2024-05-01T00:01:00Z,2\n")
    ds = import_csv(path, "h", "ts=t,Overall=power:total").dataset
    assert_allclose(ds.table["h_Overall"].to_numpy(), [1, 2])
    with pytest.raises(DatasetError, match="invalid unit 'total'"):
        import_csv(path, "h", "ts=t,Overall=power:bogus:total")
