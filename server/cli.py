"""Command line of the server: ``python -m server {run,stats,households,keys,nilm,reports,users} ...``.

Each sub-command lives in its own module exposing ``register(subparsers)``, which adds its
parser and sets ``func`` (taking the parsed namespace, returning an exit status). Bad input
exits with status 2 and a clear message.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from generator.cli import command_parser, run_command

# Modules that contribute sub-commands, in help order.
COMMAND_MODULES: tuple[str, ...] = (
    "server.run",
    "server.ingest.cli",
    "server.stats.cli",
    "server.storage.cli",
    "server.storage.dbcli",
    "server.storage.anonymize",
    "server.insights.cli",
    "server.nilm.cli",
    "server.estimates.cli",  # nilm attach|detach|models (after server.nilm.cli)
    # -- reports (#17)
    "server.reports.cli",
    # -- accounts (#15): OAuth 2.0 clients
    "server.accounts.oauth.cli",
    # -- accounts (#15, #21)
    "server.accounts.cli",
)


class CommandError(Exception):
    """A sub-command's input is invalid; the message is shown and the exit status is 2."""


def build_parser() -> argparse.ArgumentParser:
    return command_parser("python -m server", "Gridlight server.", COMMAND_MODULES)


def main(argv: Sequence[str] | None = None) -> int:
    return run_command(build_parser(), argv, (CommandError, ValueError))
