"""``python -m generator synth`` / ``demo``: files, the seed's CSV layout, and bad flags."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pandas as pd
import pytest
from numpy.testing import assert_allclose

from generator.cli import main
from generator.dataset import read_dataset
from generator.profile import BUILTIN_DIR
from generator.synth import generate
from generator.synth_cli import CSV_CLEAN_FILE, CSV_FAULTS_FILE, CSV_FAULTY_FILE


def run(*args: str, cwd=None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generator", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


def run_in_process(argv: list[str]) -> int:
    try:
        return main(argv)
    except SystemExit as exc:  # argparse's own errors
        return int(exc.code or 0)


def test_synth_writes_the_same_dataset_as_the_api(tmp_path):
    out = tmp_path / "ds"
    proc = run(
        "synth", "--households", "A", "C", "--days", "1", "--seed", "9",
        "--start", "2026-04-06", "--faults-every", "3600", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "wrote 86400 seconds" in proc.stdout
    ds = read_dataset(out)
    api = generate(households=("A", "C"), days=1, seed=9, start="2026-04-06", faults_every_s=3600)
    assert ds.fingerprint == api.fingerprint
    pd.testing.assert_frame_equal(ds.table, api.table, check_freq=False)
    pd.testing.assert_frame_equal(ds.faulty, api.faulty, check_freq=False)
    pd.testing.assert_frame_equal(
        ds.faults.astype({"ts": api.faults["ts"].dtype}), api.faults, check_dtype=False
    )
    meta = json.loads((out / "households.json").read_text())
    assert [h["id"] for h in meta["households"]] == ["A", "C"]
    assert meta["households"][0]["timezone"] == "Asia/Kolkata"


def test_csv_format_is_the_seeds_wide_layout(tmp_path):
    out = tmp_path / "csv"
    proc = run(
        "synth", "--households", "B", "--days", "1", "--seed", "1", "--fault-rate", "0.01",
        "--format", "csv", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    api = generate(households=("B",), days=1, seed=1, fault_rate=0.01)
    clean = pd.read_csv(out / CSV_CLEAN_FILE)
    faulty = pd.read_csv(out / CSV_FAULTY_FILE)
    assert list(clean.columns) == ["ts", "B_AC", "B_Geyser", "B_Overall"]
    assert list(faulty.columns) == list(clean.columns)
    assert clean["ts"].iloc[0] == "2026-01-04T18:30:00Z"
    assert_allclose(clean.drop(columns="ts").to_numpy(), api.table.to_numpy())
    assert_allclose(faulty.drop(columns="ts").to_numpy(), api.faulty.to_numpy(), equal_nan=True)
    labels = pd.read_csv(out / CSV_FAULTS_FILE)
    assert len(labels) == len(api.faults)
    missing = labels["kind"].isin(["missing", "dropout"]).sum()
    assert faulty.drop(columns="ts").isna().to_numpy().sum() == missing
    assert (out / "households.json").is_file()
    assert not list(out.glob(".gridlight-*"))
    # and it reads back as the same dataset (the server serves it like a parquet one)
    back = read_dataset(out)
    pd.testing.assert_frame_equal(back.table, api.table, check_freq=False)
    pd.testing.assert_frame_equal(back.faulty, api.faulty, check_freq=False)
    assert len(back.faults) == len(api.faults) and back.fingerprint == api.fingerprint
    assert back.faults["ts"].tolist() == api.faults["ts"].tolist()


def test_user_adds_household_d_with_a_json_profile(tmp_path):
    profile = json.loads((BUILTIN_DIR / "A.json").read_text())
    profile.update(id="D", name="Student flat", archetype="student")
    profile["ac"]["rated_kw"] = 1.0
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "D.json").write_text(json.dumps(profile))
    out = tmp_path / "ds"
    proc = run(
        "synth", "--households", "A", "D", "--days", "1", "--profiles-dir", str(profiles),
        "--start", "2026-04-06", "--out", str(out),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    ds = read_dataset(out)
    assert ds.household("D").archetype == "student"
    assert ds.table["D_AC"].max() < ds.table["A_AC"].max()
    # --profile alone adds D to the default households.
    proc = run("synth", "--days", "1", "--profile", str(profiles / "D.json"),
               "--out", str(tmp_path / "ds2"))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert sorted(read_dataset(tmp_path / "ds2").households) == ["A", "B", "C", "D"]


@pytest.mark.parametrize(
    ("args", "flag", "message"),
    [
        (["--days", "0"], "--days", "between 1 and"),
        (["--days", "-2"], "--days", "between 1 and"),
        (["--days", "three"], "--days", "whole number of days"),
        (["--households", "A", "Z"], "--households", "unknown household 'Z'"),
        (["--start", "2026-02-30"], "--start", "invalid start date '2026-02-30'"),
        (["--start", "05/01/2026"], "--start", "invalid start date"),
        (["--timezone", "Mars/Olympus"], "--timezone", "unknown time zone 'Mars/Olympus'"),
        (["--fault-rate", "0.1", "--faults-every", "60"], "--fault", "not allowed with"),
        (["--fault-rate", "1.5"], "--fault-rate", r"\(0, 0.5\]"),
        (["--faults-every", "0"], "--faults-every", ">= 1"),
        (["--seed", "-4"], "--seed", "non-negative integer"),
        (["--format", "xlsx"], "--format", "invalid choice"),
        (["--profile", "/nonexistent/D.json"], "--profile", "does not exist"),
        (["--profiles-dir", "/nonexistent"], "--profiles-dir", "does not exist"),
    ],
)
def test_bad_flags_exit_2_naming_the_flag(tmp_path, capsys, args, flag, message):
    out = tmp_path / "out"
    code = run_in_process(["synth", "--days", "1", *args, "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2, err
    assert flag in err
    assert re.search(message, err), err
    assert not out.exists()


def test_unwritable_output_exits_2_and_leaves_nothing(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a directory")
    code = run_in_process(
        ["synth", "--days", "1", "--households", "A", "--out", str(blocker / "ds")]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert "--out" in err and "cannot write" in err
    assert blocker.read_text() == "not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


def test_demo_generates_once(tmp_path, capsys):
    out = tmp_path / "data" / "demo"
    assert run_in_process(["demo", "--out", str(out)]) == 0
    assert "generated demo dataset" in capsys.readouterr().out
    ds = read_dataset(out)
    assert sorted(ds.households) == ["A", "B", "C"]
    assert len(ds.table) == 14 * 86400
    assert ds.table.index[0].tz_convert("Asia/Kolkata").day_of_week == 0  # a Monday
    assert 0 < len(ds.faults) / ds.table.size < 0.005
    stamp = (out / "households.parquet").stat().st_mtime_ns
    assert run_in_process(["demo", "--out", str(out)]) == 0
    assert "already present" in capsys.readouterr().out
    assert (out / "households.parquet").stat().st_mtime_ns == stamp
    # An incomplete directory is regenerated, to the same content.
    fingerprint = ds.fingerprint
    (out / "faults.parquet").unlink()
    assert run_in_process(["demo", "--out", str(out)]) == 0
    assert "generated demo dataset" in capsys.readouterr().out
    assert read_dataset(out).fingerprint == fingerprint


def test_rewriting_a_dataset_leaves_no_stale_files(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["synth", "--households", "A", "--days", "1", "--out", str(out)]
    assert run_in_process([*argv, "--fault-rate", "0.01"]) == 0
    assert (out / "households_faulty.parquet").is_file()
    # The same directory again without faults: the old faulty table and labels go.
    assert run_in_process([*argv, "--seed", "3"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["households.json", "households.parquet"]
    ds = read_dataset(out)
    assert ds.faulty is None and ds.faults is None
    # As CSV: the Parquet files go too.
    assert run_in_process([*argv, "--format", "csv"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["households.json", CSV_CLEAN_FILE]
    capsys.readouterr()


def test_a_failed_rewrite_leaves_the_old_dataset_whole(tmp_path, capsys):
    out = tmp_path / "ds"
    argv = ["synth", "--households", "A", "--days", "1", "--out", str(out)]
    assert run_in_process(argv) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    (out / "households_faulty.parquet").mkdir()  # the swap cannot put a file there
    assert run_in_process([*argv, "--seed", "1", "--fault-rate", "0.01"]) == 2
    assert "argument --out: cannot write to" in capsys.readouterr().err
    (out / "households_faulty.parquet").rmdir()
    after = {p.name: p.read_bytes() for p in out.iterdir()}
    assert after == before
    capsys.readouterr()
