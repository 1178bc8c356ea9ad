"""``python -m generator synth ...`` and ``python -m generator demo ...``.

``synth`` generates households from their profiles and writes a dataset directory (Parquet, or
the seed's two wide CSV files with ``--format csv``). ``demo`` writes the fixed demo dataset
that ``make run`` serves, unless the directory already holds it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from pathlib import Path

from generator.dataset import (
    CLEAN_FILE,
    CSV_CLEAN_FILE,
    CSV_FAULTS_FILE,
    CSV_FAULTY_FILE,
    FAULTS_FILE,
    FAULTY_FILE,
    META_FILE,
    Dataset,
    DatasetError,
    atomic_write_dir,
    read_meta,
    validate_timezone,
    write_dataset,
)
from generator.faults import validate_fault_args
from generator.profile import ProfileError
from generator.profile_loader import load_profile
from generator.synth import DEFAULT_START, MAX_DAYS, generate, parse_start

__all__ = [
    "CSV_CLEAN_FILE",
    "CSV_FAULTS_FILE",
    "CSV_FAULTY_FILE",
    "DEMO",
    "register",
    "write_csv_dataset",
]


# The demo dataset `make run` serves: a fortnight in the warm season, from a Monday.
DEMO = {
    "households": ("A", "B", "C"),
    "days": 14,
    "seed": 20260406,
    "start": "2026-04-06",
    "fault_rate": 0.001,
}


def _positive_days(text: str) -> int:
    try:
        days = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, got {text!r}") from None
    if not 0 < days <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_DAYS}, got {text!r}")
    return days


def _seed(text: str) -> int:
    try:
        seed = int(text)
    except ValueError:
        seed = -1
    if seed < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return seed


def _start(text: str) -> dt.date:
    try:
        return parse_start(text)
    except DatasetError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _timezone(text: str) -> str:
    try:
        return validate_timezone(text)
    except DatasetError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def _fault_rate(text: str) -> float:
    try:
        rate = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 0.5], got {text!r}") from None
    try:
        validate_fault_args(rate, None)
    except DatasetError as err:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 0.5], got {text!r}") from err
    return rate


def _every(text: str) -> int:
    try:
        every = int(text)
    except ValueError:
        every = 0
    if every < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of seconds >= 1, got {text!r}")
    return every


def write_csv_dataset(dataset: Dataset, out_dir: str | Path) -> Path:
    """Write the seed's wide CSV files (``ts`` then one column per household channel).

    ``realistic_fake_energy_data_without_errors.csv`` holds the clean table; with faults,
    ``realistic_fake_energy_data_with_errors.csv`` the faulty one (missing values empty) and
    ``faults.csv`` the labels. ``households.json`` carries the metadata. All or nothing.
    """
    out = Path(out_dir)
    meta = {
        "version": 1,
        "format": "csv",
        "fingerprint": dataset.fingerprint,
        "households": [hh.to_json() for hh in dataset.households.values()],
    }
    tables = {CSV_CLEAN_FILE: dataset.table}
    if dataset.faulty is not None:
        tables[CSV_FAULTY_FILE] = dataset.faulty
    names = [*tables, META_FILE]
    if dataset.faults is not None:
        names.append(CSV_FAULTS_FILE)

    def write_into(tmp: Path) -> None:
        for name, table in tables.items():
            frame = table.copy()
            frame.index = frame.index.strftime("%Y-%m-%dT%H:%M:%SZ")
            frame.index.name = "ts"
            frame.to_csv(tmp / name)
        if dataset.faults is not None:
            labels = dataset.faults.copy()
            labels["ts"] = labels["ts"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            labels.to_csv(tmp / CSV_FAULTS_FILE, index=False)
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")

    every = (CSV_CLEAN_FILE, CSV_FAULTY_FILE, CSV_FAULTS_FILE, CLEAN_FILE, FAULTY_FILE, FAULTS_FILE)
    atomic_write_dir(out, write_into, names, stale=[n for n in every if n not in names])
    return out


def _write(dataset: Dataset, out: str, fmt: str) -> Path:
    try:
        if fmt == "csv":
            return write_csv_dataset(dataset, out)
        return write_dataset(dataset, out)
    except DatasetError as err:
        raise DatasetError(f"argument --out: {err}") from err


def _run_synth(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    extra = []
    for path in args.profile or []:
        try:
            extra.append(load_profile(path))
        except ProfileError as err:
            parser.error(f"argument --profile: {err}")
    by_id = {p.id: p for p in extra}
    households = args.households
    if households is None:  # A, B, C and every --profile given
        households = ["A", "B", "C"] + [p.id for p in extra if p.id not in ("A", "B", "C")]
    wanted = [by_id.get(h, h) for h in households]
    began = time.perf_counter()
    try:
        dataset = generate(
            households=wanted,
            days=args.days,
            seed=args.seed,
            start=args.start,
            timezone=args.timezone,
            fault_rate=args.fault_rate,
            faults_every_s=args.faults_every,
            profile_dirs=args.profiles_dir or (),
        )
    except ProfileError as err:
        flag = "--profiles-dir" if "directory" in str(err) else "--households"
        parser.error(f"argument {flag}: {err}")
    out = _write(dataset, args.out, args.format)
    took = time.perf_counter() - began
    faults = 0 if dataset.faults is None else len(dataset.faults)
    print(
        f"wrote {len(dataset.table)} seconds x {dataset.table.shape[1]} columns "
        f"({', '.join(dataset.households)}; {faults} faulty values) to {out} "
        f"as {args.format} in {took:.1f} s"
    )
    return 0


def _demo_present(out: Path) -> bool:
    """Whether ``out`` already holds the complete demo dataset."""
    try:
        households, _ = read_meta(out)
    except DatasetError:
        return False
    if set(households) != set(DEMO["households"]):  # type: ignore[arg-type]
        return False
    for info in households.values():
        if (
            info.extra.get("seed") != DEMO["seed"]
            or info.extra.get("start") != DEMO["start"]
            or info.extra.get("days") != DEMO["days"]
        ):
            return False
    return all((out / name).is_file() for name in (CLEAN_FILE, FAULTY_FILE, FAULTS_FILE))


def _run_demo(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if not args.force and _demo_present(out):
        print(f"demo dataset already present in {out}; nothing to do")
        return 0
    began = time.perf_counter()
    dataset = generate(
        households=DEMO["households"],  # type: ignore[arg-type]
        days=DEMO["days"],  # type: ignore[arg-type]
        seed=DEMO["seed"],  # type: ignore[arg-type]
        start=DEMO["start"],  # type: ignore[arg-type]
        fault_rate=DEMO["fault_rate"],  # type: ignore[arg-type]
    )
    _write(dataset, str(out), "parquet")
    took = time.perf_counter() - began
    faults = 0 if dataset.faults is None else len(dataset.faults)
    print(
        f"generated demo dataset in {out}: households A, B, C, {DEMO['days']} days from "
        f"{DEMO['start']} (seed {DEMO['seed']}, {faults} faulty values) "
        f"in {took:.1f} s"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    synth = sub.add_parser(
        "synth",
        help="generate synthetic households (A, B, C or your own profiles)",
        description="Generate per-second AC, Geyser and Overall power for synthetic households.",
    )
    synth.add_argument(
        "--households",
        nargs="+",
        metavar="ID",
        help="household profile ids, or paths to profile JSON files "
        "(default: A B C and those given with --profile)",
    )
    synth.add_argument("--days", type=_positive_days, default=7, help="days to generate (7)")
    synth.add_argument("--seed", type=_seed, default=0, help="random seed (0)")
    synth.add_argument(
        "--start",
        type=_start,
        default=parse_start(DEFAULT_START),
        metavar="DATE",
        help=f"first local day, YYYY-MM-DD ({DEFAULT_START})",
    )
    synth.add_argument(
        "--timezone",
        type=_timezone,
        metavar="TZ",
        help="IANA zone for every household (default: the profile's, else Asia/Kolkata)",
    )
    faults = synth.add_mutually_exclusive_group()
    faults.add_argument(
        "--faults-every",
        type=_every,
        metavar="SECONDS",
        help="one fault on every channel every SECONDS seconds (the seed's mode)",
    )
    faults.add_argument(
        "--fault-rate",
        type=_fault_rate,
        metavar="P",
        help="share of values to make faulty, e.g. 0.001",
    )
    synth.add_argument("--format", choices=("parquet", "csv"), default="parquet")
    synth.add_argument(
        "--profile",
        action="append",
        metavar="PATH",
        help="a household profile JSON file to make available (repeatable)",
    )
    synth.add_argument(
        "--profiles-dir",
        action="append",
        metavar="DIR",
        help="a directory of profile JSON files to make available (repeatable)",
    )
    synth.add_argument("--out", required=True, metavar="DIR", help="dataset directory to write")
    synth.set_defaults(func=_run_synth, parser=synth)

    demo = sub.add_parser(
        "demo",
        help="write the demo dataset (A, B, C, two weeks) unless it is already there",
    )
    demo.add_argument("--out", default="data/demo", metavar="DIR", help="(data/demo)")
    demo.add_argument("--force", action="store_true", help="regenerate even if present")
    demo.set_defaults(func=_run_demo, parser=demo)
