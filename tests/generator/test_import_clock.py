"""Importers read a meter's clock as it is, across DST switches, and count every dropped row.

Small UCI-format and CSV files are written for Paris's spring (2024-03-31, 02:00 → 03:00) and
autumn (2024-10-27, 03:00 → 02:00) switches, kept by a clock that follows DST and by one that
does not; the real four-month UCI file crosses the spring switch of 2007.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from generator.dataset import DatasetError, read_dataset
from generator.importers.common import ImportReport, detect_clock
from generator.importers.csv_meter import import_csv
from generator.importers.uci import import_uci, load_uci
from generator.importers.ukdale import import_ukdale
from tests.generator.cli_helpers import run_cli

UCI_HEADER = (
    "Date;Time;Global_active_power;Global_reactive_power;Voltage;Global_intensity;"
    "Sub_metering_1;Sub_metering_2;Sub_metering_3\n"
)
FOUR_MONTHS = "uci_household_power_2006-12-16_to_2007-04-20.txt"
SPRING = pd.Timestamp("2024-03-31")
AUTUMN = pd.Timestamp("2024-10-27")
MINUTE = pd.Timedelta(minutes=1)


def wall_times(day: pd.Timestamp, clock: str) -> pd.DatetimeIndex:
    """Every minute of ``day`` as a Paris clock shows it: ``fixed`` (1440 minutes), or
    ``local`` (a wall clock: 1380 in spring, 1500 in autumn, the repeated hour twice)."""
    if clock == "fixed":
        return pd.date_range(day, periods=1440, freq="min")
    instants = pd.date_range(
        day.tz_localize("Europe/Paris"),
        (day + pd.Timedelta(days=1)).tz_localize("Europe/Paris"),
        freq="min",
        inclusive="left",
    )
    return instants.tz_localize(None)  # Paris wall times, the autumn hour twice


def uci_text(times: pd.DatetimeIndex, power_kw: np.ndarray) -> str:
    lines = [
        f"{t.day}/{t.month}/{t.year};{t:%H:%M:%S};{p:.3f};0.1;240.0;5.0;0.000;1.000;17.000\n"
        for t, p in zip(times, power_kw, strict=True)
    ]
    return UCI_HEADER + "".join(lines)


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def distinct(n: int) -> np.ndarray:
    """``n`` different power values [kW], so no minute copies another by chance."""
    return 0.2 + np.arange(n) * 0.001


def assert_accounted(report: ImportReport, rows_written: int) -> None:
    """Every row read is written, dropped (with a reason) or averaged into a shared step."""
    rows_with_data = rows_written - report.empty_steps
    assert report.rows_read == rows_with_data + report.merged + report.rows_dropped


@pytest.mark.parametrize(("day", "rows"), [(SPRING, 1380), (AUTUMN, 1500)])
def test_wall_clock_across_dst_is_read_as_local_time(tmp_path, day, rows):
    times = wall_times(day, "local")
    assert len(times) == rows
    path = write(tmp_path, "local.txt", uci_text(times, distinct(rows)))
    frame, report = load_uci(path)
    assert report.clock is not None and report.clock.kind == "local"
    assert "detected" in report.clock.reason
    # Every reading lands on its own UTC minute, in the file's order, with no gap and no loss.
    assert len(frame) == rows and report.rows_dropped == 0 and report.empty_steps == 0
    assert frame.index[0] == day.tz_localize("Europe/Paris").tz_convert("UTC")
    np.testing.assert_allclose(frame["Overall"].to_numpy(), distinct(rows))
    assert_accounted(report, len(frame))


@pytest.mark.parametrize("day", [SPRING, AUTUMN])
def test_clock_that_ignores_dst_is_read_as_a_fixed_offset(tmp_path, day):
    times = wall_times(day, "fixed")
    path = write(tmp_path, "fixed.txt", uci_text(times, distinct(1440)))
    frame, report = load_uci(path)
    assert report.clock is not None and report.clock.kind == "fixed"
    assert report.clock.offset == pd.Timedelta(hours=1)  # CET, Paris's standard time
    assert len(frame) == 1440 and report.rows_dropped == 0 and report.empty_steps == 0
    assert frame.index[0] == (day - pd.Timedelta(hours=1)).tz_localize("UTC")
    np.testing.assert_allclose(frame["Overall"].to_numpy(), distinct(1440))
    assert_accounted(report, len(frame))


def test_skipped_hour_filled_with_a_copy_of_the_next_is_a_wall_clock_and_counted(tmp_path):
    # A data set made to have 1,440 minutes a day by copying 03:00-03:59 into 02:00-02:59.
    times = wall_times(SPRING, "fixed")
    power = distinct(1440)
    power[120:180] = power[180:240]
    path = write(tmp_path, "filled.txt", uci_text(times, power))
    frame, report = load_uci(path)
    assert report.clock is not None and report.clock.kind == "local"
    assert "60 of the 60 readings at 2024-03-31 02:00-02:59" in report.clock.reason
    assert report.dropped == {"at wall times skipped by DST": 60}
    assert len(frame) == 1380
    assert_accounted(report, len(frame))
    # Stated as a fixed clock, every row is kept.
    fixed, stated = load_uci(path, clock="fixed")
    assert len(fixed) == 1440 and stated.rows_dropped == 0


def test_a_fixed_file_read_as_local_drops_the_skipped_hour_and_says_so(tmp_path, capsys):
    path = write(tmp_path, "fixed.txt", uci_text(wall_times(SPRING, "fixed"), distinct(1440)))
    out = tmp_path / "ds"
    argv = ["import", "uci", str(path), "--household", "h", "--out", str(out)]
    code, stdout, stderr = run_cli([*argv, "--clock", "local"], capsys)
    assert code == 0, stderr
    assert "imported 1380 rows at 60 s" in stdout
    assert "read 1440 rows, dropped 60 (60 at wall times skipped by DST)" in stdout
    assert "clock Europe/Paris wall time (stated)" in stdout
    code, stdout, stderr = run_cli([*argv, "--utc-offset", "+01:00"], capsys)
    assert code == 0, stderr
    assert "imported 1440 rows at 60 s" in stdout and "dropped 0," in stdout
    assert "clock fixed at UTC+01:00 (stated)" in stdout
    assert len(read_dataset(out).table) == 1440


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--utc-offset", "1h"], "invalid UTC offset '1h': expected ±HH:MM"),
        (["--clock", "local", "--utc-offset", "+01:00"], "cannot go with --clock local"),
    ],
)
def test_bad_clock_flags_exit_2(tmp_path, capsys, args, message):
    path = write(tmp_path, "f.txt", uci_text(wall_times(SPRING, "fixed"), distinct(1440)))
    out = tmp_path / "ds"
    code, stdout, stderr = run_cli(
        ["import", "uci", str(path), "--household", "h", "--out", str(out), *args], capsys
    )
    assert code == 2 and message in stderr and stdout == "" and not out.exists()


def test_a_clock_that_follows_one_switch_and_not_the_other_must_be_stated():
    spring = wall_times(SPRING, "fixed")  # readings in the skipped hour: fixed
    autumn = wall_times(AUTUMN, "local")  # the hour repeated: local
    with pytest.raises(DatasetError, match="follows some DST switches .* --clock"):
        detect_clock(spring.append(autumn), "Europe/Paris")


@pytest.mark.parametrize(("clock", "rows"), [("local", 1500), ("fixed", 1440)])
def test_csv_naive_times_across_autumn(tmp_path, clock, rows):
    times = wall_times(AUTUMN, clock)
    lines = "".join(f"{t:%Y-%m-%d %H:%M:%S},{w}\n" for t, w in zip(times, range(rows), strict=True))
    path = write(tmp_path, "m.csv", "time,w\n" + lines)
    result = import_csv(path, "h", "ts=time,Overall=w:W", timezone="Europe/Paris")
    report = result.report
    assert report.clock is not None and report.clock.kind == clock
    table = result.dataset.table
    assert len(table) == rows and report.rows_dropped == 0 and report.empty_steps == 0
    np.testing.assert_allclose(table["h_Overall"].to_numpy(), np.arange(rows) / 1000.0)
    assert_accounted(report, len(table))


def test_csv_wall_clock_that_misses_the_spring_hour_has_no_gap(tmp_path):
    times = wall_times(SPRING, "local")
    lines = "".join(f"{t:%Y-%m-%dT%H:%M},{i}\n" for i, t in enumerate(times))
    path = write(tmp_path, "m.csv", "t,p\n" + lines)
    result = import_csv(path, "h", "ts=t,Overall=p", timezone="Europe/Paris")
    assert len(result.dataset.table) == 1380 and result.report.empty_steps == 0
    assert result.report.clock is not None and result.report.clock.kind == "local"


def test_csv_counts_duplicates_bad_times_and_merges(tmp_path, capsys):
    text = (
        "t,p\n2024-01-01 00:00:00,1\n2024-01-01 00:00:00,2\nnot a time,3\n"
        "2024-01-01 00:01:00,4\n2024-01-01 00:01:30,6\n2024-01-01 00:04:00,5\n"
    )
    path = write(tmp_path, "m.csv", text)
    result = import_csv(path, "h", "ts=t,Overall=p", resolution_s=60)
    report = result.report
    assert report.rows_read == 6
    assert report.dropped == {
        "with an unreadable time": 1,
        "duplicate timestamps (kept the last)": 1,
    }
    assert report.merged == 1  # 00:01:00 and 00:01:30 share a step
    assert report.empty_steps == 2  # 00:02 and 00:03
    np.testing.assert_allclose(
        result.dataset.table["h_Overall"].to_numpy(), [2.0, 5.0, np.nan, np.nan, 5.0]
    )
    assert_accounted(report, len(result.dataset.table))
    code, stdout, _ = run_cli(
        ["import", "csv", str(path), "--household", "h", "--map", "ts=t,Overall=p"]
        + ["--resolution", "60", "--out", str(tmp_path / "ds")],
        capsys,
    )
    assert code == 0
    assert (
        "read 6 rows, dropped 2 (1 with an unreadable time; 1 duplicate timestamps "
        "(kept the last)), 1 averaged into a shared 60 s step, 2 empty steps added"
    ) in stdout


def test_csv_clock_flags_with_offsets_in_the_file_are_refused(tmp_path):
    path = write(
        tmp_path, "m.csv", "t,p\n2024-07-01T12:00:00+02:00,1\n2024-07-01T12:01:00+02:00,2\n"
    )
    with pytest.raises(DatasetError, match="--clock and --utc-offset are for times without"):
        import_csv(path, "h", "ts=t,Overall=p", utc_offset="+01:00")


def test_ukdale_counts_repeated_and_unreadable_lines_and_shared_bins(tmp_path):
    house = tmp_path / "ukdale" / "house_1"
    house.mkdir(parents=True)
    (house / "labels.dat").write_text("1 aggregate\n")
    t0 = 1_700_000_004
    (house / "channel_1.dat").write_text(
        f"{t0} 100\n{t0} 900\n{t0 + 3} 300\nnan 5\n{t0 + 19} 250\n"
    )
    result = import_ukdale(tmp_path / "ukdale", 1, "uk")
    report = result.report
    assert report.rows_read == 5
    assert report.dropped == {
        "lines with an unreadable time": 1,
        "duplicate timestamps (kept the first)": 1,
    }
    assert report.merged == 1 and report.empty_steps == 2  # bins +6 and +12 are empty
    np.testing.assert_allclose(
        result.dataset.table["uk_Overall"].to_numpy(), [0.2, np.nan, np.nan, 0.25]
    )
    assert_accounted(report, len(result.dataset.table))


def test_real_four_months_every_row_accounted(real_data_dir, tmp_path, capsys):
    path = real_data_dir / FOUR_MONTHS
    with path.open() as lines:
        rows_in_file = sum(1 for _ in lines) - 1
    assert rows_in_file == 180_396
    # Read as it is, the clock is Paris wall time: the data set filled the hour that DST skips
    # on 2007-03-25 with a copy of the hour after; those 60 rows are dropped, and said so.
    out = tmp_path / "uci"
    code, stdout, stderr = run_cli(
        ["import", "uci", str(path), "--household", "uci", "--out", str(out)], capsys
    )
    assert code == 0, stderr
    assert "imported 180336 rows at 60 s" in stdout
    assert "read 180396 rows, dropped 60 (60 at wall times skipped by DST)" in stdout
    assert "59 of the 60 readings at 2007-03-25 02:00-02:59 (skipped by DST)" in stdout
    # Stated as a clock at a fixed UTC+01:00, every row of the file is imported.
    result = import_uci(path, "uci", utc_offset="+01:00")
    table = result.dataset.table
    assert len(table) == 180_396 and result.report.rows_dropped == 0
    assert result.report.rows_read == 180_396 and result.report.empty_steps == 0
    assert table.index[0] == pd.Timestamp("2006-12-16T16:24:00Z")
    assert table.index[-1] == pd.Timestamp("2007-04-20T22:59:00Z")
