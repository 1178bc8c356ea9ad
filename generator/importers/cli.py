"""``python -m generator import uci FILE --household NAME --out DIR``."""

from __future__ import annotations

import argparse

from generator.dataset import write_dataset
from generator.importers.uci import import_uci


def _run_uci(args: argparse.Namespace) -> int:
    dataset = import_uci(args.file, args.household, name=args.name)
    out = write_dataset(dataset, args.out)
    rows = len(dataset.table)
    missing = int(dataset.table.isna().any(axis=1).sum())
    print(f"imported {rows} minutes ({missing} missing) of household {args.household} into {out}")
    return 0


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
    uci.set_defaults(func=_run_uci)
