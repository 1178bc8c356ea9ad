"""``python -m server nilm {attach,detach,models,publish,unpublish,catalog}``: appliance models on
live households, and the deployment's catalog of models that owners attach over HTTP.

* ``attach --household H --model FILE`` checks the model against the household (see
  :func:`server.estimates.attach.attach_model`) and keeps it in the installation's database,
  where the running server's estimator picks it up within ``NILM_SYNC_S`` (no restart);
* ``detach --household H --appliance CH`` removes it (its estimates stop; those written stay);
* ``models [--household H]`` prints the attached models and their estimators' state as JSON;
* ``publish --model FILE [--name NAME]`` checks a model file (causal, of an appliance) and
  publishes it in the deployment's catalog under ``NAME`` (default: the file's stem; publishing
  a name again replaces its model), where households' owners find it
  (``GET /api/v1/households/{h}/estimates/catalog``) and attach it by name
  (``PUT /api/v1/households/{h}/estimates/{appliance}``): the HTTP API never takes a model file,
  since loading one unpickles it;
* ``unpublish --name NAME`` withdraws it (households that attached it keep their copy: detach
  them with ``detach``); ``catalog`` prints the published models as JSON.

The database is ``GRIDLIGHT_DATABASE_URL`` when set, else the SQLite file under ``--data-dir``.
Refusals (unknown household, an appliance it meters, a centred model, readings coarser than the
model) exit with status 2 and the reason.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

__all__ = ["MODEL_NAME", "register"]

#: A published model's name: it travels in JSON bodies and URLs.
MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def _nilm_actions(subparsers: argparse._SubParsersAction) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """The actions of ``python -m server nilm`` (added by :mod:`server.nilm.cli` first)."""
    nilm = subparsers.choices["nilm"]
    return next(a for a in nilm._actions if isinstance(a, argparse._SubParsersAction))


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    from server.nilm.cli import rated_option

    sub = _nilm_actions(subparsers)
    data_dir = {"metavar": "DIR", "help": "data directory (its SQLite database)"}

    attach = sub.add_parser("attach", help="estimate an appliance of a live household")
    attach.add_argument("--household", required=True, metavar="H", help="live household id")
    attach.add_argument("--model", required=True, metavar="FILE", help="model file (causal)")
    rated_option(attach)
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

    publish = sub.add_parser("publish", help="publish a model for owners to attach over HTTP")
    publish.add_argument("--model", required=True, metavar="FILE", help="model file (causal)")
    publish.add_argument(
        "--name", metavar="NAME", help="catalog name (letters, digits, . _ -; default: FILE's stem)"
    )
    publish.add_argument("--data-dir", **data_dir)
    publish.set_defaults(func=run_publish)

    unpublish = sub.add_parser("unpublish", help="withdraw a model from the catalog")
    unpublish.add_argument("--name", required=True, metavar="NAME", help="catalog name")
    unpublish.add_argument("--data-dir", **data_dir)
    unpublish.set_defaults(func=run_unpublish)

    catalog = sub.add_parser("catalog", help="list the models published for owners")
    catalog.add_argument("--data-dir", **data_dir)
    catalog.set_defaults(func=run_catalog)


def _model_bytes(path: str) -> bytes:
    from server.cli import CommandError

    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise CommandError(f"cannot read the model file {path!r}: {err.strerror}") from err


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

    data = _model_bytes(args.model)
    db = command_database(args.data_dir)
    try:
        attached = attach_model(
            KeyStore(db),
            EstimatorStore(db),
            ReadingStore(db),
            args.household,
            data,
            time.time(),
            rated_w=args.rated_w,
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


def catalog_json(entry) -> dict:  # noqa: ANN001
    """A published model as the CLI and the HTTP API show it."""
    header = entry.header
    return {
        "name": entry.name,
        "appliance": entry.appliance,
        "model_resolution_s": entry.resolution_s,
        "causal": entry.causal,
        "on_threshold_w": header.get("on_threshold_w"),
        "on_level_w": header.get("on_level_w"),
        "need_samples": header.get("context_samples"),
        "trained_on": header.get("trained_on"),
        "training_period": header.get("training_period"),
        "published": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(entry.published_s)),
    }


def run_publish(args: argparse.Namespace) -> int:
    from server.cli import CommandError
    from server.errors import GridlightError
    from server.estimates.attach import publish_model
    from server.storage.database import command_database
    from server.storage.estimators import ModelCatalog

    name = args.name if args.name is not None else Path(args.model).stem
    if not re.match(MODEL_NAME, name):
        raise CommandError(
            f"invalid model name {name!r}: expected 1 to 64 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (give --name)"
        )
    data = _model_bytes(args.model)
    db = command_database(args.data_dir)
    try:
        entry = publish_model(ModelCatalog(db), name, data, time.time())
    except GridlightError as err:
        raise CommandError(str(err)) from err
    finally:
        db.dispose()
    _print_json(catalog_json(entry))
    return 0


def run_unpublish(args: argparse.Namespace) -> int:
    from server.cli import CommandError
    from server.storage.database import command_database
    from server.storage.estimators import EstimatorStore, ModelCatalog

    db = command_database(args.data_dir)
    try:
        removed = ModelCatalog(db).unpublish(args.name)
        users = [
            m.household
            for m in EstimatorStore(db).list()
            if m.header.get("catalog_name") == args.name
        ]
    finally:
        db.dispose()
    if not removed:
        raise CommandError(f"no model is published as {args.name!r}")
    print(f"unpublished {args.name}")
    if users:
        print(
            f"still attached (a copy) to: {', '.join(sorted(set(users)))}; "
            "stop them with 'python -m server nilm detach'"
        )
    return 0


def run_catalog(args: argparse.Namespace) -> int:
    from server.storage.database import command_database
    from server.storage.estimators import ModelCatalog

    db = command_database(args.data_dir)
    try:
        found = ModelCatalog(db).list()
    finally:
        db.dispose()
    _print_json({"models": [catalog_json(m) for m in found]})
    return 0
