"""How fast the insights routes answer once a household's model is cached.

A synthetic day-worker home (household A, ``--days`` days of 1 Hz readings, so the
gradient-boosted model is fitted, not the baseline) is served by the app (Flask's test client,
no network): the first forecast request (reads the table, answers from the baseline while the
model is fitted in the background), the fit itself, then ``--n`` cached forecast answers at
24 h and 168 h, forecasts computed afresh (the first request of each hour), cached
recommendations, and the same-run baseline: ``GET /api/v1/households/A``,
a route that does nothing but describe the household. Aim (#16): a cached forecast in < 50 ms.

    python benchmarks/bench_insights.py [--days 21] [--n 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.dataset import write_dataset  # noqa: E402
from generator.synth import generate  # noqa: E402
from server import create_app  # noqa: E402


def timed(client, url: str, n: int) -> list[float]:  # noqa: ANN001
    out = []
    for _ in range(n):
        began = time.perf_counter()
        r = client.get(url)
        out.append((time.perf_counter() - began) * 1000)
        assert r.status_code == 200, r.get_json()
    return out


def show(name: str, ms: list[float]) -> None:
    ms = sorted(ms)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    print(f"{name:<44} median {statistics.median(ms):7.2f} ms   p95 {p95:7.2f} ms   (n={len(ms)})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=21)
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        began = time.perf_counter()
        write_dataset(generate(households=("A",), days=args.days, seed=3), Path(tmp) / "demo")
        print(
            f"dataset: A, {args.days} days at 1 Hz, written in {time.perf_counter() - began:.1f} s"
        )
        app = create_app(
            {
                "TESTING": True,
                "DATA_DIR": tmp,
                "DEMO": True,
                "DEMO_HOUSEHOLDS": ["A"],
                "EMBEDDED_REPLAY": False,
                "WARM_STATS": False,
            }
        )
        services = app.extensions["gridlight"].start()  # the trainer
        client = app.test_client()
        try:
            first = timed(client, "/api/v1/households/A/forecast", 1)[0]
            model = client.get("/api/v1/households/A/forecast").get_json()["model"]
            print(
                f"first request (reads the table, baseline answer): {first:.0f} ms; model {model['name']}"
            )
            trainer = app.extensions["insights"].trainer
            began = time.perf_counter()
            while trainer.fitted < 1:
                time.sleep(0.05)
                if time.perf_counter() - began > 120:
                    print("the model was not fitted within 120 s", file=sys.stderr)
                    return 1
            model = client.get("/api/v1/households/A/forecast").get_json()["model"]
            entry = app.extensions["insights"].service.cached("A")
            print(
                f"model {model['name']} fitted in {entry.model.train_s:.1f} s on "
                f"{model['history_days']} days (in the background)"
            )
            timed(client, "/api/v1/households/A/recommendations", 1)  # computed once, cached
            baseline = timed(client, "/api/v1/households/A", args.n)
            f24 = timed(client, "/api/v1/households/A/forecast?horizon_h=24", args.n)
            f168 = timed(client, "/api/v1/households/A/forecast?horizon_h=168", args.n)
            recs = timed(client, "/api/v1/households/A/recommendations", args.n)
            answers = app.extensions["insights"].service._answers
            computed = []
            for _ in range(max(args.n // 10, 5)):  # the first answer of an hour: predicted
                answers.clear()
                computed += timed(client, "/api/v1/households/A/forecast?horizon_h=168", 1)
            tariff = timed(client, "/api/v1/households/A/tariff", args.n)
        finally:
            services.stop()
    show("baseline: GET /api/v1/households/A", baseline)
    show("cached forecast, horizon_h=24", f24)
    show("cached forecast, horizon_h=168", f168)
    show("computed forecast (first of its hour), 168", computed)
    show("cached recommendations", recs)
    show("tariff", tariff)
    worst = statistics.median(f168)
    verdict = "pass" if statistics.median(f24) < 50 and worst < 50 else "FAIL"
    print(f"aim: cached forecast < 50 ms: {verdict}")
    return 0 if verdict == "pass" else 1


if __name__ == "__main__":
    sys.exit(main())
