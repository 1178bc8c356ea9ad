"""The samples committed under data/samples/ import as data/README.md says."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from generator.dataset import read_dataset
from tests.generator.cli_helpers import run_cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "portal_export.csv"


def test_readme_csv_example_imports_the_committed_sample(tmp_path, capsys):
    readme = (ROOT / "data" / "README.md").read_text()
    assert "data/samples/portal_export.csv" in readme
    out = tmp_path / "flat-7"
    code, stdout, stderr = run_cli(
        ["import", "csv", str(SAMPLE), "--household", "flat-7"]
        + ["--map", "ts=time,Overall=total_w:W,AC=aircon_kw", "--timezone", "Europe/Paris"]
        + ["--out", str(out)],
        capsys,
    )
    assert code == 0, stderr
    # Five wall-clock hours over the autumn switch: six hours of readings, none lost.
    assert "imported 360 rows at 60 s (0 with a missing value)" in stdout
    assert "read 360 rows, dropped 0," in stdout
    assert "clock Europe/Paris wall time (detected: 2024-10-27 02:00-02:59 repeated" in stdout
    table = read_dataset(out).table
    assert table.index[0] == pd.Timestamp("2024-10-26T22:00:00Z")
    assert table.index[-1] == pd.Timestamp("2024-10-27T03:59:00Z")
