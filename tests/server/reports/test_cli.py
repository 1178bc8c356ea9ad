"""``python -m server reports generate`` on a dataset and on the data directory."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from pypdf import PdfReader

from server.cli import main
from tests.server.reports.conftest import NAME

ROOT = Path(__file__).resolve().parents[3]


def test_generate_from_a_dataset_to_a_file(reports_dataset: Path, tmp_path: Path, monkeypatch):  # noqa: ANN001
    monkeypatch.setenv("GRIDLIGHT_DATA_DIR", str(tmp_path / "empty"))
    out = tmp_path / "out" / "z.pdf"
    args = ["reports", "generate", "--household", "Z", "--month", "2026-02"]
    assert main([*args, "--dataset", str(reports_dataset), "--out", str(out)]) == 0
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    assert 2 <= len(reader.pages) <= 4
    assert NAME in reader.pages[0].extract_text()
    assert not (tmp_path / "empty").exists()  # --out: nothing stored


def test_generate_into_the_data_directory(reports_dataset: Path, tmp_path: Path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "crafted").symlink_to(reports_dataset, target_is_directory=True)
    result = subprocess.run(
        [sys.executable, "-m", "server", "reports", "generate", "--household", "Z"]
        + ["--month", "2026-01"],
        cwd=ROOT,
        env={"GRIDLIGHT_DATA_DIR": str(data), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert (data / "reports" / "Z" / "2026-01.pdf").is_file()
    assert "2026-01" in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--household", "Z", "--month", "2026-13"], "expected YYYY-MM"),
        (["--household", "Q", "--month", "2026-01"], "unknown household 'Q'"),
        (["--household", "Z", "--month", "2099-01"], "has not begun"),
    ],
)
def test_bad_input_exits_2(reports_dataset: Path, tmp_path: Path, capsys, extra, message):  # noqa: ANN001
    argv = ["reports", "generate", "--dataset", str(reports_dataset), "--out", str(tmp_path / "x")]
    with pytest.raises(SystemExit) as exited:
        status = main([*argv, *extra])
        raise SystemExit(status)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err
