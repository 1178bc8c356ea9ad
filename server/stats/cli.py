"""``python -m server stats --dataset DIR --household H --interval S [--by-hour]``.

Prints the quick-stats JSON that ``GET /api/v1/households/{h}/stats`` serves. Bad input (an
unknown household, an interval <= 0 or longer than the data, an empty channel, a directory that
is not a dataset) raises a ``ValueError`` subclass, which ``server.cli`` reports with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys

from generator.cli import whole_seconds
from server.stats.report import build_report

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``stats`` sub-command."""
    parser = subparsers.add_parser(
        "stats",
        help="print a household's quick statistics (percentiles, 1%% critical value) as JSON",
        description=(
            "Compute a household's thresholds from a dataset's clean history averaged at an "
            "interval, and print the JSON the API serves."
        ),
    )
    parser.add_argument("--dataset", required=True, metavar="DIR", help="dataset directory")
    parser.add_argument("--household", required=True, metavar="H", help="household id")
    parser.add_argument(
        "--interval",
        required=True,
        type=whole_seconds("interval"),
        metavar="SECONDS",
        help="averaging interval",
    )
    parser.add_argument(
        "--by-hour", action="store_true", help="also compute thresholds per local hour of day"
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from generator.dataset import read_dataset

    dataset = read_dataset(args.dataset, faulty=False)
    report = build_report(dataset, args.household, args.interval, by_hour=args.by_hour)
    json.dump(report, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")
    return 0
