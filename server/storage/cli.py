"""``python -m server households add H --channels AC,Geyser,Overall [--timezone Z]`` and
``python -m server keys create H``: register live households and issue their API keys.

The key is printed alone on the last line (it is shown once; only its hash is stored).
"""

from __future__ import annotations

import argparse
import os

from server.cli import CommandError
from server.storage.keys import KeyStore, RegistryError
from server.storage.legacy import connect, db_path


def _store(args: argparse.Namespace) -> KeyStore:
    data_dir = args.data_dir or os.environ.get("GRIDLIGHT_DATA_DIR", "data")
    return KeyStore(connect(db_path(data_dir)))


def _add(args: argparse.Namespace) -> int:
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    try:
        info, key = _store(args).add_household(
            args.household, channels, timezone=args.timezone, name=args.name
        )
    except RegistryError as err:
        raise CommandError(str(err)) from err
    print(f"registered household {info.id} ({', '.join(info.channels)}; {info.timezone})")
    print("API key (shown once; send it as 'Authorization: Bearer <key>'):")
    print(key)
    return 0


def _create_key(args: argparse.Namespace) -> int:
    try:
        key = _store(args).create_key(args.household)
    except RegistryError as err:
        raise CommandError(str(err)) from err
    print(f"new API key for household {args.household} (shown once):")
    print(key)
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    data_dir_help = "data directory (default: $GRIDLIGHT_DATA_DIR or data/)"
    households = sub.add_parser("households", help="register live households")
    hsub = households.add_subparsers(dest="action", required=True, metavar="ACTION")
    add = hsub.add_parser("add", help="register a live household and print its API key")
    add.add_argument("household", help="household id (letters, digits, '-')")
    add.add_argument("--channels", required=True, help="comma-separated, e.g. AC,Geyser,Overall")
    add.add_argument("--timezone", default="UTC", help="IANA time zone (default UTC)")
    add.add_argument("--name", help="display name")
    add.add_argument("--data-dir", help=data_dir_help)
    add.set_defaults(func=_add)

    keys = sub.add_parser("keys", help="manage API keys")
    ksub = keys.add_subparsers(dest="action", required=True, metavar="ACTION")
    create = ksub.add_parser("create", help="issue another API key for a household")
    create.add_argument("household")
    create.add_argument("--data-dir", help=data_dir_help)
    create.set_defaults(func=_create_key)
