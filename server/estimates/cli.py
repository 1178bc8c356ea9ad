"""``python -m server nilm {attach,detach,models}``: appliance models on live households.

* ``attach --household H --model FILE`` checks the model against the household (see
  :func:`server.estimates.attach.attach_model`) and keeps it in the installation's database,
  where the running server's estimator picks it up within ``NILM_SYNC_S`` (no restart);
* ``detach --household H --appliance CH`` removes it (its estimates stop; those written stay);
* ``models [--household H]`` prints the attached models and their estimators' state as JSON.

The database is ``GRIDLIGHT_DATABASE_URL`` when set, else the SQLite file under ``--data-dir``.
Refusals (unknown household, an appliance it meters, a centred model, readings coarser than the
model) exit with status 2 and the reason.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

__all__ = ["register"]


def _nilm_actions(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """The actions of ``python -m server nilm`` (added by :mod:`server.nilm.cli` first)."""
    nilm = subparsers.choices["nilm"]
    return next(a for a in nilm._actions if isinstance(a, argparse._SubParsersAction))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    sub = _nilm_actions(subparsers)
    data_dir = {"metavar": "DIR", "help": "data directory (its SQLite database)"}

    attach = sub.add_parser("attach", help="estimate an appliance of a live household")
    attach.add_argument("--household", required=True, metavar="H", help="live household id")
    attach.add_argument("--model", required=True, metavar="FILE", help="model file (causal)")
    attach.add_argument("--data-dir", **data_dir)
    attach.set_defaults(func=run_attach)

    detach = sub.add_parser("detach", help="stop estimating an appliance of a live household")
    detach.add_argument("--household", required=True, metavar="H", help="live household id")
    detach.add_argument("--appliance", required=True, metavar="CH", help="estimated channel")
    detach.add_argument("--data-dir", **data_dir)
    detach.set_defaults(func=run_detach)

    models = sub.add_parser("models", help="list the models attached to live households")
    models.add_argument("--household", metavar="H", help="only this household")
    models.add_argument("--data-dir", **data_dir)
    models.set_defaults(func=run_models)


def _print_json(body: object) -> None:
    json.dump(body, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def _attached_json(m) -> dict:  # noqa: ANN001
    return {"household": m.household, "appliance": m.appliance, **m.describe()}


def run_attach(args: argparse.Namespace) -> int:
    from server.cli import CommandError
    from server.errors import GridlightError
    from server.estimates.attach import attach_model
    from server.storage import KeyStore, ReadingStore
    from server.storage.database import command_database
    from server.storage.estimators import EstimatorStore

    try:
        data = Path(args.model).read_bytes()
    except OSError as err:
        raise CommandError(f"cannot read the model file {args.model!r}: {err.strerror}") from err
    db = command_database(args.data_dir)
    try:
        attached = attach_model(
            KeyStore(db), EstimatorStore(db), ReadingStore(db), args.household, data, time.time()
        )
    except GridlightError as err:
        raise CommandError(str(err)) from err
    finally:
        db.dispose()
    _print_json(_attached_json(attached))
    return 0


def run_detach(args: argparse.Namespace) -> int:
    from server.cli import CommandError
    from server.storage.database import command_database
    from server.storage.estimators import EstimatorStore

    db = command_database(args.data_dir)
    try:
        removed = EstimatorStore(db).detach(args.household, args.appliance)
    finally:
        db.dispose()
    if not removed:
        raise CommandError(f"household {args.household!r} has no {args.appliance!r} model")
    print(f"detached the {args.appliance} model of {args.household}")
    return 0


def run_models(args: argparse.Namespace) -> int:
    from server.storage.database import command_database
    from server.storage.estimators import EstimatorStore

    db = command_database(args.data_dir)
    try:
        found = EstimatorStore(db).list(args.household)
    finally:
        db.dispose()
    _print_json({"models": [_attached_json(m) for m in found]})
    return 0
