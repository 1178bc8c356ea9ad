"""Command line of the server: ``python -m server {run,stats,households,keys} ...``.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds its
parser and sets ``func`` (taking the parsed namespace, returning an exit status). Bad input
exits with status 2 and a clear message.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

# Modules that contribute sub-commands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "server.run",
    "server.ingest.cli",
    "server.stats.cli",
    "server.storage.cli",
)


class CommandError(Exception):
    """A sub-command's input is invalid; the message is shown and the exit status is 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m server", description="Gridlight server.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (CommandError, ValueError) as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
