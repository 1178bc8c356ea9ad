"""``python -m generator replay --dataset DIR [--households A B C] --to URL [--speed X]``.

The sink is chosen by the URL's scheme among the ``gridlight.sinks`` entry points, so the
generator itself stays free of Redis, MQTT and the server: the server registers
``redis://``/``rediss://``/``unix://`` (one Redis stream per household, what the web workers
read) and ``mqtt://``/``mqtts://`` (``gridlight/{household}/readings`` at QoS 1, as meters
would publish);
``stdout:`` prints one JSON line per reading. ``--faulty`` replays the dataset's faulty table (its
labelled meter faults), ``--clean`` the clean one; by default the faulty one when present.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import datetime
from importlib.metadata import entry_points
from urllib.parse import urlsplit

from generator.dataset import DatasetError, read_dataset
from generator.replay import replay

__all__ = ["register"]

#: Entry-point group of the replay's sinks: name = URL scheme, value = ``open_sink(url)`` returning
#: ``(publish, close)``.
SINKS_GROUP = "gridlight.sinks"


def open_sink(url: str):  # noqa: ANN201 - (publish, close)
    scheme = urlsplit(url).scheme
    if scheme == "stdout":

        def publish(household: str, reading: dict) -> None:
            print(json.dumps({"household": household, **reading}), flush=True)

        return publish, lambda: None
    sinks = {entry.name: entry for entry in entry_points(group=SINKS_GROUP)}
    entry = sinks.get(scheme)
    if entry is None:
        known = ", ".join(sorted([*sinks, "stdout"]))
        raise DatasetError(f"unsupported --to URL {url!r}: expected a scheme among {known}")
    return entry.load()(url)


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid speed {text!r}: expected a number") from None
    if not 0 < value <= 1000:
        raise argparse.ArgumentTypeError(f"invalid speed {text!r}: expected 0 < speed <= 1000")
    return value


def _mqtt_url(text: str) -> str:
    if urlsplit(text).scheme not in ("mqtt", "mqtts"):
        raise argparse.ArgumentTypeError(f"invalid --mqtt {text!r}: expected mqtt://host:port")
    return text


def _start(text: str) -> float:
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid --start {text!r}: expected ISO 8601") from None
    if parsed.tzinfo is None:
        raise argparse.ArgumentTypeError(f"invalid --start {text!r}: give a time zone (e.g. Z)")
    return parsed.timestamp()


def _run(args: argparse.Namespace) -> int:
    dataset = read_dataset(args.dataset)
    households = args.households or sorted(dataset.households)
    for household in households:
        dataset.household(household)
    publish, close = open_sink(args.to)
    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    print(
        f"replaying {', '.join(households)} from {args.dataset} to {args.to} at speed {args.speed:g}",
        file=sys.stderr,
        flush=True,
    )
    try:
        stats = replay(
            dataset,
            households,
            publish,
            speed=args.speed,
            start_s=args.start,
            duration_s=args.duration_s,
            should_stop=stop.is_set,
            sleep=lambda s: stop.wait(s),
            faulty=args.faulty,
        )
    finally:
        close()
    print(
        f"replayed {stats.seconds} s: {stats.published} readings published, "
        f"{stats.failures} failed attempts, {stats.dropped} dropped",
        file=sys.stderr,
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("replay", help="publish a dataset as live 1 Hz meters")
    parser.add_argument("--dataset", required=True, metavar="DIR", help="dataset directory")
    parser.add_argument(
        "--households", nargs="+", metavar="H", help="households to replay (default: all)"
    )
    sink = parser.add_mutually_exclusive_group(required=True)
    sink.add_argument(
        "--to", metavar="URL", help="sink: redis://host:port/db, mqtt://host:port or stdout:"
    )
    sink.add_argument(
        "--mqtt", metavar="URL", type=_mqtt_url, dest="to", help="same as --to mqtt://host:port"
    )
    parser.add_argument(
        "--speed", type=_speed, default=1.0, help="virtual seconds per real second (default 1)"
    )
    parser.add_argument("--start", type=_start, help="virtual start time (default: now)")
    parser.add_argument(
        "--duration-s", type=int, metavar="SECONDS", help="stop after this many virtual seconds"
    )
    table = parser.add_mutually_exclusive_group()
    table.add_argument(
        "--faulty",
        dest="faulty",
        action="store_const",
        const=True,
        help="replay the faulty table (meter faults; the default when the dataset has one)",
    )
    table.add_argument(
        "--clean", dest="faulty", action="store_const", const=False, help="replay the clean table"
    )
    parser.set_defaults(func=_run, faulty=None)
