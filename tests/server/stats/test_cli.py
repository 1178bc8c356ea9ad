"""``python -m server stats``: the JSON the API serves, and exit status 2 on bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from generator.dataset import write_dataset
from server.cli import main
from server.stats import compute_stats, stats_report
from tests.server.stats.helpers import make_dataset, synthetic_frame

ROOT = __import__("pathlib").Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def dataset_dir(tmp_path_factory):
    frame = synthetic_frame(days=2, resolution_s=10)
    path = tmp_path_factory.mktemp("ds")
    write_dataset(make_dataset(frame, resolution_s=10), path)
    return path


def test_prints_the_report(dataset_dir, capsys):
    assert (
        main(["stats", "--dataset", str(dataset_dir), "--household", "A", "--interval", "60"]) == 0
    )
    body = json.loads(capsys.readouterr().out)
    assert list(body)[:6] == [
        "25p",
        "median",
        "75p",
        "rt_critical_value_0.01",
        "best_distribution",
        "household",
    ]
    assert set(body["25p"]) == {"AC", "Geyser", "Overall"}
    assert body["interval_s"] == 60 and body["by_hour"] is False
    from generator.dataset import read_dataset

    ds = read_dataset(dataset_dir)
    expected = stats_report(
        compute_stats(
            ds.frame("A"), 60, timezone="Asia/Kolkata", fingerprint=ds.fingerprint, resolution_s=10
        ),
        "A",
    )
    assert body == json.loads(json.dumps(expected))


def test_by_hour(dataset_dir, capsys):
    args = ["stats", "--dataset", str(dataset_dir), "--household", "A", "--interval", "300"]
    assert main([*args, "--by-hour"]) == 0
    body = json.loads(capsys.readouterr().out)
    assert body["by_hour"] is True and set(body["hours"]) == {"AC", "Geyser", "Overall"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--household", "Q", "--interval", "5"], "unknown household 'Q'"),
        (["--household", "A", "--interval", "0"], "invalid interval 0: must be positive"),
        (["--household", "A", "--interval", "5s"], "invalid interval '5s'"),
        (["--household", "A", "--interval", "999999"], "longer than the data"),
    ],
)
def test_bad_input_exits_2(dataset_dir, capsys, args, message):
    try:
        status = main(["stats", "--dataset", str(dataset_dir), *args])
    except SystemExit as exit_:  # argparse rejects the flag itself
        status = exit_.code
    assert status == 2
    assert message in capsys.readouterr().err


def test_empty_channel_exits_2(tmp_path, capsys):
    frame = synthetic_frame(days=1, resolution_s=60)
    frame["Geyser"] = np.nan
    write_dataset(make_dataset(frame, resolution_s=60), tmp_path)
    status = main(["stats", "--dataset", str(tmp_path), "--household", "A", "--interval", "60"])
    assert status == 2
    assert "channel 'Geyser' has no readings" in capsys.readouterr().err


def test_module_entry_point(dataset_dir):
    proc = subprocess.run(
        [sys.executable, "-m", "server", "stats", "--dataset", str(dataset_dir)]
        + ["--household", "A", "--interval", "900"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["interval_s"] == 900
    missing = subprocess.run(
        [sys.executable, "-m", "server", "stats", "--dataset", str(dataset_dir / "nope")]
        + ["--household", "A", "--interval", "900"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert missing.returncode == 2 and "is not a dataset" in missing.stderr
