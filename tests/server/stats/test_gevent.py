"""The server runs fits in gevent's native thread pool with threading monkey-patched: they work
there (fitter's own timeout pool included) and the hub keeps serving greenlets meanwhile."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]

SCRIPT = r"""
from gevent import monkey

monkey.patch_all()

import json
import gevent
import numpy as np
import pandas as pd

from server.stats import compute_stats

x = np.random.default_rng(0).gamma(2.0, 0.5, 50_000)
frame = pd.DataFrame(
    {"Overall": x}, index=pd.date_range("2026-01-01", periods=x.size, freq="1s", tz="UTC")
)
ticks = []


def ticker():
    while True:
        ticks.append(1)
        gevent.sleep(0.01)


g = gevent.spawn(ticker)
in_pool = gevent.get_hub().threadpool.apply(compute_stats, (frame, 5))
g.kill()
inline = compute_stats(frame, 5)
print(json.dumps({
    "method": in_pool.channels["Overall"].method,
    "same": in_pool.to_json() == inline.to_json(),
    "ticks": len(ticks),
}))
"""


def test_fits_in_gevent_threadpool():
    proc = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["method"].startswith("fit: ")
    assert result["same"] is True
    assert result["ticks"] >= 5  # greenlets ran while the pool thread fitted
