"""The committed Postman collection, run by newman against the app served for real.

``python -m server run`` (gunicorn, gevent worker, direct socket writes on) serves the demo
dataset on a free loopback port with the demo replaying fast; a live household is registered
with the CLI the collection tells users to run, and its key given to newman with ``--env-var``.
Every assertion of every request must pass (newman's exit code); on failure its summary is shown.
newman is pinned in ``.tools/package.json`` and installed there by ``make newman`` (``make test``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.server.test_served import Processes, health, server_env
from tests.services import free_port, wait_for_port
from tests.wait import wait_for

ROOT = Path(__file__).resolve().parents[3]
POSTMAN_DIR = ROOT / "docs" / "postman"
NEWMAN = Path(__file__).resolve().parent / ".tools" / "node_modules" / ".bin" / "newman"
LIVE = "H1"  # the collection's liveHousehold
REQUEST_TIMEOUT_MS = 60_000  # a stats fit on a cold cache is the slowest request
RUN_TIMEOUT_S = 240
REPORT_MONTH = "2026-04"  # the demo data's month (python -m generator demo)


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo dataset as ``make run`` has it (``python -m generator demo``)."""
    root = tmp_path_factory.mktemp("newman-data")
    subprocess.run(
        [sys.executable, "-m", "generator", "demo", "--out", str(root / "demo")],
        cwd=ROOT,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return root


def test_postman_collection_passes_under_newman(demo_data: Path, tmp_path: Path) -> None:
    if not NEWMAN.exists():
        pytest.fail(f"newman is not installed at {NEWMAN}: run `make newman` (make test does)")
    port = free_port()
    env = server_env(
        demo_data,
        tmp_path / "stats",
        port,
        GRIDLIGHT_DEMO="1",
        GRIDLIGHT_REPLAY_SPEED="20",  # 5-s windows close 4 times a second: streams end quickly
        GUNICORN_CMD_ARGS=f"--bind 127.0.0.1:{port}",
    )
    added = subprocess.run(
        [
            sys.executable,
            "-m",
            "server",
            "households",
            "add",
            LIVE,
            "--channels",
            "AC,Geyser,Overall",
        ],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    key = added.stdout.strip().splitlines()[-1]
    assert key.startswith("gl_"), added.stdout
    # -- reports (#17): one report for the collection's PDF request, made as its doc says
    subprocess.run(
        [sys.executable, "-m", "server", "reports", "generate"]
        + ["--household", "A", "--month", REPORT_MONTH],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=True,
    )
    # -- end reports
    processes = Processes()
    try:
        run = processes.start([sys.executable, "-m", "server", "run"], env, tmp_path / "run.log")
        wait_for_port(port, timeout_s=30, proc=run)
        base = f"http://127.0.0.1:{port}"
        wait_for(lambda: health(base) == 200, what="/healthz", timeout_s=30)
        assert requests.get(f"{base}/api/v1/households/{LIVE}", timeout=5).status_code == 200
        report = tmp_path / "newman.json"
        result = subprocess.run(
            [
                str(NEWMAN),
                "run",
                str(POSTMAN_DIR / "gridlight.postman_collection.json"),
                "--environment",
                str(POSTMAN_DIR / "local.postman_environment.json"),
                "--env-var",
                f"baseUrl={base}",
                "--env-var",
                f"apiKey={key}",
                "--env-var",
                f"liveHousehold={LIVE}",
                "--timeout-request",
                str(REQUEST_TIMEOUT_MS),
                "--reporters",
                "cli,json",
                "--reporter-json-export",
                str(report),
                "--color",
                "off",
                "--disable-unicode",
                "--no-insecure-file-read",
            ],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
        )
    finally:
        processes.stop_all()
    summary = result.stdout[result.stdout.find("-----") :] if result.stdout else result.stderr
    assert result.returncode == 0, f"newman failed:\n{result.stdout[-12000:]}\n{result.stderr}"
    stats = json.loads(report.read_text())["run"]["stats"]
    print(summary)
    # the run did what the collection holds: every request sent, every script ran, none failed
    collection = json.loads((POSTMAN_DIR / "gridlight.postman_collection.json").read_text())
    n_requests = sum(len(folder["item"]) for folder in collection["item"])
    assert stats["requests"] == {"total": n_requests, "pending": 0, "failed": 0}
    assert stats["testScripts"]["total"] == n_requests and stats["testScripts"]["failed"] == 0
    assert stats["assertions"]["failed"] == 0 and stats["assertions"]["total"] >= 3 * n_requests
    log = (tmp_path / "run.log").read_text()
    assert "Traceback" not in log, log
