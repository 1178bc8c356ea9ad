"""Running ``python -m generator`` in the test process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from generator.cli import main


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``python -m generator`` in this process: (exit status, stdout, stderr)."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's own errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def server_stats(dataset_dir: Path, household: str, interval_s: int) -> dict:
    """``python -m server stats`` on an imported dataset (the server reads it): its report."""
    out = subprocess.run(
        [sys.executable, "-m", "server", "stats", "--dataset", str(dataset_dir)]
        + ["--household", household, "--interval", str(interval_s)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
