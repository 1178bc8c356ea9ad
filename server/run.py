"""``python -m server run``: start every process the configuration needs, stop them together.

* always: gunicorn with the gevent worker (``docker/gunicorn.conf.py``: bind 0.0.0.0:$PORT,
  ``WEB_CONCURRENCY`` workers, one without Redis);
* with ``REDIS_URL`` and demo mode: one ``python -m generator replay`` process publishing the demo
  households to Redis (never one per worker; without Redis the replay runs inside the worker);
* with ``REDIS_URL`` and ``MQTT_URL``: one ``python -m server ingest`` process, the deployment's
  only MQTT subscriber (without Redis it runs inside the single worker).

Prints the URL and a curl line to try; SIGINT/SIGTERM stop the children (TERM, then KILL after
a grace period); if one child exits, the others are stopped and its status is returned.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from server.config import household_list

__all__ = ["register"]

ROOT = Path(__file__).resolve().parents[1]
GUNICORN_CONF = ROOT / "docker" / "gunicorn.conf.py"
STOP_GRACE_S = 15.0
#: Names a ``PROMETHEUS_MULTIPROC_DIR`` that was made empty for this server and that other
#: processes may already count into: gunicorn's configuration does not empty it again.
FRESH_METRICS_DIR = "GRIDLIGHT_FRESH_METRICS_DIR"


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in ("1", "true", "yes", "on")


def _households(raw: str | None) -> list[str]:
    """``GRIDLIGHT_DEMO_HOUSEHOLDS`` as the app reads it (:func:`server.config.household_list`)."""
    return list(household_list(raw)) if raw else ["A", "B", "C"]


def commands(env: dict[str, str]) -> list[tuple[str, list[str]]]:
    if not GUNICORN_CONF.exists():
        raise ValueError(f"gunicorn configuration not found at {GUNICORN_CONF}")
    out = [("web", [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF)])]
    if env.get("REDIS_URL") and _truthy(env.get("GRIDLIGHT_DEMO")):
        data_dir = Path(env.get("GRIDLIGHT_DATA_DIR", "data"))
        dataset = data_dir / env.get("GRIDLIGHT_DEMO_DATASET", "demo")
        households = _households(env.get("GRIDLIGHT_DEMO_HOUSEHOLDS"))
        out.append(
            (
                "replay",
                [
                    sys.executable,
                    "-m",
                    "generator",
                    "replay",
                    "--dataset",
                    str(dataset),
                    "--households",
                    *households,
                    "--to",
                    env["REDIS_URL"],
                    "--speed",
                    env.get("GRIDLIGHT_REPLAY_SPEED", "1"),
                ],
            )
        )
    if env.get("REDIS_URL") and env.get("MQTT_URL"):
        out.append(("ingest", [sys.executable, "-m", "server", "ingest"]))
    return out


def _stop(procs: dict[str, subprocess.Popen]) -> None:
    for proc in procs.values():
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_GRACE_S
    for proc in procs.values():
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(args: argparse.Namespace) -> int:
    env = dict(os.environ)
    port = int(env.setdefault("PORT", "5000"))
    if args.dry_run:
        for name, cmd in commands(env):
            print(f"{name}: {' '.join(cmd)}")
        return 0
    stopping = False

    def on_signal(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    planned = commands(env)
    # prometheus_client's multiprocess directory, empty at start and shared by the web workers
    # and the ingest process, so that /metrics counts them all; marked fresh so that gunicorn
    # (docker/gunicorn.conf.py) does not empty it again once the ingest process counts into it
    created = None
    given = env.get("PROMETHEUS_MULTIPROC_DIR")
    if given:
        os.makedirs(given, exist_ok=True)
        for stale in Path(given).glob("*.db"):
            stale.unlink()
    else:
        created = env["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="gridlight-metrics-")
    env[FRESH_METRICS_DIR] = env["PROMETHEUS_MULTIPROC_DIR"]
    procs = {name: subprocess.Popen(cmd, env=env) for name, cmd in planned}
    mode = "Redis at " + env["REDIS_URL"] if env.get("REDIS_URL") else "embedded broker"
    mode += ", PostgreSQL" if env.get("DATABASE_URL", "").startswith("postgres") else ", SQLite"
    print(f"Gridlight on http://localhost:{port}/ ({mode}; processes: {', '.join(procs)})")
    print(f"  try: curl -N 'http://localhost:{port}/api/v1/households/A/stream?interval=5'")
    sys.stdout.flush()
    status = 0
    try:
        while not stopping:
            exited = [(n, p.returncode) for n, p in procs.items() if p.poll() is not None]
            if exited:
                name, status = exited[0]
                print(f"{name} exited with status {status}; stopping", file=sys.stderr)
                break
            time.sleep(0.2)
    finally:
        _stop(procs)
        if created:
            shutil.rmtree(created, ignore_errors=True)
    return status


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("run", help="serve the API (gunicorn + gevent; replay with Redis)")
    parser.add_argument(
        "--dry-run", action="store_true", help="print the commands that would run, and exit"
    )
    parser.set_defaults(func=run)
