"""``python -m generator import {uci,csv,ukdale} ...``: public and exported meter data.

* ``import uci FILE --household NAME --out DIR [--clock auto|local|fixed] [--utc-offset ±HH:MM]``
* ``import csv FILE --household H --map SPEC --out DIR [--timezone ZONE] [--name NAME]
  [--resolution SECONDS] [--clock auto|local|fixed] [--utc-offset ±HH:MM]``
* ``import ukdale DIR --house N --household H --out DIR [--channels NAME=LABEL,...]
  [--resolution SECONDS] [--name NAME]``

Each writes a dataset directory and prints one summary line: rows written, rows read, rows
dropped and why, readings averaged into a shared step, empty steps, and the clock the times
were read with; bad input exits with status 2 and a message (see :mod:`generator.cli`).
"""

from __future__ import annotations

import argparse

from generator.cli import whole_seconds
from generator.dataset import write_dataset
from generator.importers.common import CLOCKS, import_summary
from generator.importers.csv_meter import import_csv
from generator.importers.uci import import_uci
from generator.importers.ukdale import UKDALE_RESOLUTION_S, import_ukdale, parse_channels


def _house(text: str) -> int:
    if not text.isdigit() or int(text) <= 0:
        raise argparse.ArgumentTypeError(f"invalid house {text!r}: expected a number such as 1")
    return int(text)


def _run_uci(args: argparse.Namespace) -> int:
    result = import_uci(
        args.file, args.household, name=args.name, clock=args.clock, utc_offset=args.utc_offset
    )
    out = write_dataset(result.dataset, args.out)
    print(import_summary(result, args.household, out))
    return 0


def _run_csv(args: argparse.Namespace) -> int:
    result = import_csv(
        args.file,
        args.household,
        args.map,
        timezone=args.timezone,
        name=args.name,
        resolution_s=args.resolution,
        clock=args.clock,
        utc_offset=args.utc_offset,
    )
    out = write_dataset(result.dataset, args.out)
    print(import_summary(result, args.household, out))
    return 0


def _run_ukdale(args: argparse.Namespace) -> int:
    result = import_ukdale(
        args.dir,
        args.house,
        args.household,
        channels=parse_channels(args.channels) if args.channels else None,
        resolution_s=args.resolution,
        name=args.name,
    )
    out = write_dataset(result.dataset, args.out)
    print(import_summary(result, args.household, out))
    return 0


def _add_clock(parser: argparse.ArgumentParser, zone: str) -> None:
    parser.add_argument(
        "--clock",
        choices=CLOCKS,
        default="auto",
        help=(
            f"how times without a UTC offset are read: local = {zone} wall time (following "
            "daylight saving time), fixed = one offset all year (the zone's standard time), "
            "auto = found from the data at the DST switches, else local (default auto)"
        ),
    )
    parser.add_argument(
        "--utc-offset",
        metavar="±HH:MM",
        help="the fixed clock's offset, e.g. +01:00 (implies --clock fixed)",
    )


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = sub.add_parser("import", help="import a public meter data set")
    formats = parser.add_subparsers(dest="format", required=True, metavar="FORMAT")
    uci = formats.add_parser(
        "uci", help="UCI 'Individual household electric power consumption' (; separated)"
    )
    uci.add_argument("file", help="the UCI text file")
    uci.add_argument("--household", required=True, help="household id to give it (e.g. uci)")
    uci.add_argument("--name", help="display name (default: from the file name)")
    uci.add_argument("--out", required=True, help="dataset directory to write")
    _add_clock(uci, "Europe/Paris")
    uci.set_defaults(func=_run_uci)

    csv = formats.add_parser(
        "csv",
        help="a CSV of one household's meter (e.g. a utility portal export)",
        description=(
            "Import a comma-separated file with a header row. --map says which column holds "
            "the time and which hold the channels, e.g. "
            "--map ts=time,Overall=total_w:W,AC=aircon_kw"
        ),
    )
    csv.add_argument("file", help="the CSV file")
    csv.add_argument("--household", required=True, help="household id to give it")
    csv.add_argument(
        "--map",
        required=True,
        metavar="SPEC",
        help=(
            "ts=<column> (ISO 8601 or epoch seconds) and CHANNEL=<column>[:unit] per channel, "
            "comma-separated; unit kW (default), W or kWh (energy per sample)"
        ),
    )
    csv.add_argument(
        "--timezone",
        default="UTC",
        metavar="ZONE",
        help="IANA zone of times without a UTC offset, and the household's (default UTC)",
    )
    csv.add_argument("--name", help="display name (default: household and file name)")
    csv.add_argument(
        "--resolution",
        type=whole_seconds("resolution"),
        metavar="SECONDS",
        help="grid step (default: the median spacing of the times)",
    )
    csv.add_argument("--out", required=True, help="dataset directory to write")
    _add_clock(csv, "--timezone")
    csv.set_defaults(func=_run_csv)

    ukdale = formats.add_parser(
        "ukdale",
        help="a UK-DALE house (house_N/labels.dat and channel_K.dat)",
        description=(
            "Import one house of the UK-DALE layout: channel 1 (aggregate) becomes Overall, "
            "other channels are named from their labels; watts averaged into kW bins."
        ),
    )
    ukdale.add_argument("dir", help="UK-DALE directory holding house_N folders")
    ukdale.add_argument("--house", required=True, type=_house, metavar="N", help="house number")
    ukdale.add_argument("--household", required=True, help="household id to give it")
    ukdale.add_argument(
        "--channels",
        metavar="NAME=LABEL,...",
        help="only these channels besides Overall, named NAME (default: every labelled channel)",
    )
    ukdale.add_argument(
        "--resolution",
        type=whole_seconds("resolution"),
        default=UKDALE_RESOLUTION_S,
        metavar="SECONDS",
        help=f"grid step (default {UKDALE_RESOLUTION_S}, UK-DALE's own rate)",
    )
    ukdale.add_argument("--name", help="display name (default: UK-DALE house N)")
    ukdale.add_argument("--out", required=True, help="dataset directory to write")
    ukdale.set_defaults(func=_run_ukdale)
