"""Command line of the generator: ``python -m generator {synth,import,replay,demo} ...``.

Every sub-command lives in its own module exposing ``register(subparsers)``, which adds its
parser and sets ``func`` (taking the parsed namespace, returning an exit status). Bad input
exits with status 2 and a message naming the flag, as argparse does.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from generator.dataset import DatasetError

# Modules that contribute sub-commands, in help order.
COMMAND_MODULES = ("generator.synth_cli", "generator.importers.cli", "generator.replay_cli")


def whole_seconds(name: str):  # noqa: ANN201 - an argparse ``type``
    """An argparse ``type`` for a positive whole number of seconds, its errors naming ``name``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"invalid {name} {text!r}: expected a whole number of seconds"
            ) from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"invalid {name} {value}: must be positive")
        return value

    return parse


def command_parser(prog: str, description: str, modules: Sequence[str]) -> argparse.ArgumentParser:
    """A parser whose sub-commands come from ``modules`` (each with ``register(subparsers)``)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in modules:
        importlib.import_module(name).register(sub)
    return parser


def run_command(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    errors: tuple[type[BaseException], ...],
) -> int:
    """Parse ``argv``, run the chosen sub-command; ``errors`` exit 2 with their message."""
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except errors as err:
        print(f"{parser.prog} {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    return command_parser(
        "python -m generator",
        "Generate, import and replay Gridlight household datasets.",
        COMMAND_MODULES,
    )


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv, (DatasetError,))
