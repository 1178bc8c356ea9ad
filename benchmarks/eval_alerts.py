"""Evaluate the alert rules on the synthetic faulty dataset (``make bench``).

Data: ``generator.synth.generate`` (households A, B, C) with faults (``--faults-every``, the
seed's mode: one fault per channel every N seconds, a fifth of them spikes ×10-×100 of one
second). Statistics (quick stats, plain and by hour, empirical quantiles) come from the first
``--train-days`` (21: three weeks, as DESIGN.md judges classification) of the clean table; the
rules judge the following week, window by window, at
each ``--intervals`` (the windows the engine would follow), exactly as the engine feeds them
(:class:`server.alerts.rules.HouseholdRules`, default settings: spike ×2.0 over the hour's median
on ``Overall``, red held 3 windows, offline 15 min, 30 min cooldown, 2 clear windows).

Targets (exit 1 if one is missed):

* alerts fire for >= 99% of the injected ``Overall`` spike events that last at least one
  interval: the spike's window opens an alerted spike event, or falls in one that was alerted
  (an event silenced by the cooldown counts as missed);
* at most one false spike alert per household-day on the clean data (any spike alert there is
  false: nothing was injected);
* the time from a reading to its alert's delivery attempt, measured live: household A's spikes
  replayed into the in-process broker of a real app (hub → evaluator → dispatcher → a webhook on
  loopback), from publishing the reading that closes the spike's window to the delivery attempt
  (p50, p99; no target, reported).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from generator.dataset import write_dataset  # noqa: E402
from generator.synth import generate  # noqa: E402
from generator.times import format_ts  # noqa: E402
from server.alerts.rules import (  # noqa: E402
    BASELINE_STAT,
    BASELINE_STATS,
    HouseholdRules,
    Observation,
    RuleSettings,
)
from server.stats import classify_array, compute_stats, time_slots  # noqa: E402
from server.stats.windows import epoch_seconds, window_means  # noqa: E402

SPIKE_CHANNEL = "Overall"


def replay_rules(
    household: str,
    frame: pd.DataFrame,
    plain,  # noqa: ANN001 - HouseholdStats
    hourly,  # noqa: ANN001
    interval_s: int,
    settings: RuleSettings,
    stat: str = BASELINE_STAT,
) -> tuple[list, np.ndarray, np.ndarray]:
    """Feed every window of ``frame`` to fresh rules; ``(alerts, window starts, covered)`` where
    ``covered[i]`` says window ``i`` lies in an alerted spike event."""
    channels = [str(c) for c in frame.columns]
    seconds = epoch_seconds(frame.index)
    values = frame.to_numpy(dtype="float64", na_value=np.nan)
    starts, means = window_means(values, seconds, interval_s)
    levels = np.stack([classify_array(plain, c, means[:, i]) for i, c in enumerate(channels)], 1)
    slots = time_slots(
        pd.DatetimeIndex(pd.to_datetime(starts, unit="s", utc=True)), hourly.timezone
    )
    median_by_slot = np.array(
        [getattr(hourly.for_slot(SPIKE_CHANNEL, s), stat) for s in range(48)], dtype="float64"
    )
    baseline = median_by_slot[slots]
    rules = HouseholdRules(household, settings)
    event = rules.events["spike"]
    alerts: list = []
    covered = np.zeros(len(starts), dtype=bool)
    for i in range(len(starts)):
        row = means[i]
        power = {c: (None if np.isnan(row[j]) else float(row[j])) for j, c in enumerate(channels)}
        level = {c: str(levels[i, j]) for j, c in enumerate(channels) if power[c] is not None}
        obs = Observation(int(starts[i]), interval_s, power, level, {SPIKE_CHANNEL: baseline[i]})
        alerts += rules.observe(obs)
        covered[i] = event.active and event.alerted
    return alerts, starts, covered


def spike_events(faults: pd.DataFrame, household: str, start_s: int, end_s: int) -> list[tuple]:
    """Runs of consecutive labelled ``Overall`` spike seconds: ``(first_s, last_s)``."""
    sel = faults[
        (faults["household"] == household)
        & (faults["channel"] == SPIKE_CHANNEL)
        & (faults["kind"] == "spike")
    ]
    secs = np.sort(epoch_seconds(pd.DatetimeIndex(sel["ts"])))
    secs = secs[(secs >= start_s) & (secs < end_s)]
    runs: list[tuple] = []
    for s in secs:
        if runs and s == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], int(s))
        else:
            runs.append((int(s), int(s)))
    return runs


def evaluate(args: argparse.Namespace) -> tuple[list[dict], bool]:
    dataset = generate(
        households=tuple(args.households),
        days=args.days,
        seed=args.seed,
        faults_every_s=args.faults_every,
    )
    rows, ok = [], True
    settings = RuleSettings()
    for household in args.households:
        info = dataset.household(household)
        clean, faulty = dataset.frame(household), dataset.frame(household, faulty=True)
        split = clean.index[0] + pd.Timedelta(days=args.train_days)
        train = clean[clean.index < split]
        test_days = (clean.index[-1] - split).total_seconds() / 86_400 + 1 / 86_400
        for interval_s in args.intervals:
            t0 = time.perf_counter()
            plain = compute_stats(train, interval_s, timezone=info.timezone, fit=False)
            hourly = compute_stats(
                train, interval_s, timezone=info.timezone, by_hour=True, fit=False
            )
            clean_alerts, _, _ = replay_rules(
                household,
                clean[clean.index >= split],
                plain,
                hourly,
                interval_s,
                settings,
                args.baseline,
            )
            faulty_alerts, starts, covered = replay_rules(
                household,
                faulty[faulty.index >= split],
                plain,
                hourly,
                interval_s,
                settings,
                args.baseline,
            )
            split_s = int(split.timestamp())
            events = spike_events(dataset.faults, household, split_s, int(starts[-1]) + interval_s)
            qualifying = hit = 0
            for first, last in events:
                # windows wholly covered by the spike: the spike lasts at least one interval
                w0 = -(-first // interval_s) * interval_s
                whole = [w for w in range(w0, last + 1, interval_s) if w + interval_s - 1 <= last]
                if not whole:
                    continue
                qualifying += 1
                idx = np.searchsorted(starts, whole)
                hit += bool(covered[idx[idx < len(starts)]].any())
            spikes_clean = [a for a in clean_alerts if a.rule == "spike" and a.kind == "alert"]
            false_per_day = len(spikes_clean) / test_days
            other = {
                r: sum(1 for a in clean_alerts if a.rule == r and a.kind == "alert")
                for r in ("level", "offline")
            }
            share = hit / qualifying if qualifying else float("nan")
            row_ok = (not qualifying or share >= 0.99) and false_per_day <= 1.0
            ok &= row_ok
            rows.append(
                {
                    "household": household,
                    "interval_s": interval_s,
                    "spike_events": len(events),
                    "qualifying": qualifying,
                    "alerted": hit,
                    "alerted_share": share,
                    "false_spike_per_day": false_per_day,
                    "clean_level_alerts": other["level"],
                    "clean_offline_alerts": other["offline"],
                    "faulty_alerts": len([a for a in faulty_alerts if a.kind == "alert"]),
                    "test_days": test_days,
                    "seconds": time.perf_counter() - t0,
                    "pass": row_ok,
                }
            )
            print(_row(rows[-1]), flush=True)
    return rows, ok


HEADER = (
    f"{'house':>5} {'int_s':>5} {'spikes':>6} {'>=1int':>6} {'alerted':>7} {'share':>7} "
    f"{'false/day':>9} {'lvl(clean)':>10} {'off(clean)':>10} {'faulty':>6} {'days':>5} "
    f"{'secs':>5}  result"
)


def _row(r: dict) -> str:
    share = "n/a" if np.isnan(r["alerted_share"]) else f"{100 * r['alerted_share']:.2f}%"
    return (
        f"{r['household']:>5} {r['interval_s']:>5} {r['spike_events']:>6} {r['qualifying']:>6} "
        f"{r['alerted']:>7} {share:>7} {r['false_spike_per_day']:>9.2f} "
        f"{r['clean_level_alerts']:>10} {r['clean_offline_alerts']:>10} {r['faulty_alerts']:>6} "
        f"{r['test_days']:>5.1f} {r['seconds']:>5.0f}  {'PASS' if r['pass'] else 'FAIL'}"
    )


# -- live latency --------------------------------------------------------------------------------
class _Receiver:
    def __init__(self) -> None:
        self.received: list[tuple[float, dict]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                receiver.received.append((time.time(), json.loads(body)))
                self.send_response(204)
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def drained(engine, before_s: int, timeout_s: float = 120.0) -> None:  # noqa: ANN001
    """Wait until the follower has judged every window before ``before_s`` (the gap's)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        follower = engine.followers.get("A")
        sub = follower.sub if follower is not None else None
        if sub is not None and sub.queue.empty() and engine.gridlight.hub.channels_of("A"):
            channel = engine.gridlight.hub.channels_of("A")[0]
            if channel.agg.last_closed_s is not None and channel.agg.last_closed_s >= before_s - 1:
                return
        time.sleep(0.005)
    raise SystemExit(f"the evaluator did not catch up with the replay within {timeout_s} s")


def measure_latency(args: argparse.Namespace) -> list[float]:
    """Live: publish windows around each of A's spikes; reading → delivery attempt [s]."""
    from server import create_app
    from server.alerts.settings import default_settings, merge

    interval_s = 1
    dataset = generate(
        households=("A",), days=args.latency_days, seed=args.seed, faults_every_s=args.faults_every
    )
    tmp = Path(tempfile.mkdtemp(prefix="eval-alerts-"))
    write_dataset(dataset, tmp / "demo")
    receiver = _Receiver()
    app = create_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp),
            "REDIS_URL": None,
            "DEMO": False,
            "EMBEDDED_REPLAY": False,
            "WARM_STATS": False,
            "PUSH_ENABLED": False,
            "ALERTS_ENABLED": True,
            "ALERTS_INTERVAL_S": interval_s,
            "ALERTS_SYNC_S": 0.1,
            "CLIENT_QUEUE_LEN": 1_000_000,  # the hours between spikes arrive as one burst
        }
    )
    ext, gl = app.extensions["alerts"], app.extensions["gridlight"]
    doc = merge(
        default_settings("Asia/Kolkata", ("AC", "Geyser", "Overall")),
        {
            "cooldown_min": 0,
            "rules": {"level": {"enabled": False}, "offline": {"enabled": False}},
            "channels": {
                "push": {"enabled": False},
                "webhook": {"enabled": True, "url": receiver.url, "secret": "s" * 32},
            },
        },
    )
    ext.settings.put("A", doc)
    deadline = time.monotonic() + 600
    while not gl.hub.channels_of("A"):  # statistics at 1 s are computed first
        if time.monotonic() > deadline:
            raise SystemExit("the evaluator did not start following A within 10 minutes")
        time.sleep(0.05)
    faulty = dataset.frame("A", faulty=True)
    seconds = epoch_seconds(faulty.index)
    values = faulty.to_numpy(dtype="float64", na_value=np.nan)
    channels = list(faulty.columns)
    events = spike_events(dataset.faults, "A", int(seconds[0]), int(seconds[-1]))
    # Whole weeks later (same local hour and day type, so the same baselines), in the future
    # (no window closes by silence); only the seconds around each spike are published, paced:
    # a pause before each spike reading lets the windows of the gap before it drain first.
    week_s = 7 * 86_400
    offset = week_s * -(-(int(time.time()) + 600 - int(seconds[0])) // week_s)
    published: dict[int, float] = {}  # rebased spike second -> when its reading was published
    for first, _ in events[: args.latency_spikes]:
        lo = max(int(first - seconds[0]) - 5, 0)
        for row in range(lo, min(lo + 8, len(values))):
            ts = int(seconds[row]) + offset
            power = {
                c: (None if np.isnan(v) else float(v))
                for c, v in zip(channels, values[row], strict=True)
            }
            if ts == first + offset:  # a 1 s window closes on its own reading
                drained(ext.engine, ts)
                published[ts] = time.time()
            gl.broker.publish("A", {"ts": format_ts(ts), "power_kw": power})
    deadline = time.monotonic() + 60

    def alerts_received() -> int:
        return sum(1 for _, body in list(receiver.received) if body["alert"]["kind"] == "alert")

    while alerts_received() < len(published) and time.monotonic() < deadline:
        time.sleep(0.05)
    latencies = []
    for at, body in receiver.received:
        start = body["alert"]["values"].get("window_start_s")
        if body["alert"]["kind"] == "alert" and start in published:
            latencies.append(at - published[start])
    ext.stop()
    gl.stop()
    receiver.httpd.shutdown()
    return latencies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--households", nargs="+", default=["A", "B", "C"])
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument("--train-days", type=int, default=21)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--faults-every", type=int, default=3600)
    parser.add_argument("--intervals", type=int, nargs="+", default=[1, 60])
    parser.add_argument("--latency-days", type=int, default=4)
    parser.add_argument("--latency-spikes", type=int, default=40)
    parser.add_argument("--baseline", choices=BASELINE_STATS, default=BASELINE_STAT)
    parser.add_argument("--no-latency", action="store_true")
    parser.add_argument("--quick", action="store_true", help="4 days (2 for training)")
    args = parser.parse_args(argv)
    if args.quick:
        args.days, args.train_days, args.latency_days, args.latency_spikes = 4, 2, 3, 20
    print(
        f"alerts on synth A/B/C: {args.days} days (first {args.train_days} for statistics), "
        f"seed {args.seed}, one fault per channel every {args.faults_every} s; spike baseline: "
        f"the hour's {args.baseline}"
    )
    print(HEADER)
    rows, ok = evaluate(args)
    if args.no_latency:
        print("ALL TARGETS MET" if ok else "TARGET MISSED")
        return 0 if ok else 1
    latencies = measure_latency(args)
    if latencies:
        p50, p99 = np.percentile(latencies, [50, 99])
        print(
            f"reading -> delivery attempt (live, interval 1 s, webhook on loopback, "
            f"{len(latencies)} spikes): p50 {1000 * p50:.1f} ms, p99 {1000 * p99:.1f} ms"
        )
    else:
        print("reading -> delivery attempt: no spike alert was delivered in the live replay: FAIL")
        ok = False
    print("ALL TARGETS MET" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
