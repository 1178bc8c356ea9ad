"""``python -m server nilm {train,apply,evaluate}``: Gridlight's appliance estimates offline.

* ``train --dataset DIR --household H [--household H2 ...] --appliance CH [--until ISO8601]
  [--transfer] --out MODEL`` trains on the readings before ``--until`` (all of them without it)
  and prints the model's header. Several ``--household`` pool their readings; ``--transfer``
  leaves out the hour of day and describes levels by their surrounding steps, for a model meant
  for households it was not trained on (leave-one-out: train on the others, apply to one);
  ``--stacked`` adds a second stage that reads the first one's probabilities over hours.
* ``apply --dataset DIR --household H --model MODEL --out DIR`` reads only ``{H}_Overall`` and
  writes a dataset whose ``{H}_{CH}`` column is the estimate, marked ``estimated``.
* ``evaluate --dataset DIR --household H --appliance CH --train-until ISO8601`` prints JSON:
  on/off ``f1`` (above ``on_threshold_w``), ``mae_w``, ``energy_share_error`` after the split,
  and the same for the baselines; with ``--train-household H2`` (repeatable) the model and the
  baselines learn from those households instead and are scored on ``H``.

Bad input (unknown household or appliance, no Overall channel, ``--until`` before the data,
under 7 days to train on, readings coarser than the model) raises a ``ValueError`` subclass,
which ``server.cli`` reports with exit status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

__all__ = ["register"]


def _common(parser: argparse.ArgumentParser, *, several: bool = False) -> None:
    parser.add_argument("--dataset", required=True, metavar="DIR", help="dataset directory")
    if several:
        parser.add_argument(
            "--household",
            required=True,
            action="append",
            metavar="H",
            help="household id; repeat to pool several households' readings",
        )
    else:
        parser.add_argument("--household", required=True, metavar="H", help="household id")


def _transfer(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--transfer",
        action="store_true",
        help="a model for other households: no hour of day, levels relative to their steps",
    )
    parser.add_argument(
        "--stacked",
        action="store_true",
        help="a second stage over the first one's on-probabilities in windows of up to 4 h "
        "(1-minute models; about 5x the training time)",
    )


def _threshold(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--on-threshold-w",
        type=float,
        metavar="W",
        help="power above which the appliance counts as on (default: a tenth of its high level)",
    )
    parser.add_argument(
        "--causal",
        action="store_true",
        help="past-only features (for live use; default: centred windows, more accurate offline)",
    )


def watts(raw: str) -> float:
    """``--rated-w``: a finite number of watts above 0 (:func:`~server.nilm.model.check_rating`)."""
    from server.nilm.data import NilmError
    from server.nilm.model import check_rating

    try:
        value = float(raw)
        check_rating(value)
    except (ValueError, NilmError):
        raise argparse.ArgumentTypeError(
            f"expected a number of watts above 0, got {raw!r}"
        ) from None
    return value


def rated_option(parser: argparse.ArgumentParser) -> None:
    """``--rated-w W`` (:meth:`server.nilm.Disaggregator.rated`), for ``apply``, ``evaluate``
    and ``attach``."""
    parser.add_argument(
        "--rated-w",
        type=watts,
        metavar="W",
        help="the appliance's rated power in this household, when it differs from the one the "
        "model learned (within a third to three times its level; --on-threshold-w stays in "
        "the training household's watts)",
    )


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``nilm`` sub-command and its ``train``, ``apply`` and ``evaluate``."""
    parser = subparsers.add_parser(
        "nilm",
        help="estimate appliance channels from the whole-house reading (disaggregation)",
        description="Train, apply and evaluate appliance estimates from the Overall channel.",
    )
    sub = parser.add_subparsers(dest="nilm_command", required=True, metavar="ACTION")

    train = sub.add_parser("train", help="train a model on households with the sub-meter")
    _common(train, several=True)
    train.add_argument("--appliance", required=True, metavar="CH", help="appliance channel")
    train.add_argument("--until", metavar="ISO8601", help="train only on readings before this")
    train.add_argument("--out", required=True, metavar="MODEL", help="model file to write")
    _threshold(train)
    _transfer(train)
    train.set_defaults(func=run_train)

    apply = sub.add_parser("apply", help="write a dataset with the estimated appliance channel")
    _common(apply)
    apply.add_argument("--model", required=True, metavar="MODEL", help="model file")
    apply.add_argument("--out", required=True, metavar="DIR", help="dataset directory to write")
    rated_option(apply)
    apply.set_defaults(func=run_apply)

    evaluate = sub.add_parser("evaluate", help="score a model and the baselines after a split")
    _common(evaluate)
    evaluate.add_argument("--appliance", required=True, metavar="CH", help="appliance channel")
    evaluate.add_argument(
        "--train-until", required=True, metavar="ISO8601", help="train before, score from it"
    )
    evaluate.add_argument(
        "--train-household",
        action="append",
        metavar="H2",
        help="train on this household instead of H (repeat to pool); score on H",
    )
    _threshold(evaluate)
    _transfer(evaluate)
    rated_option(evaluate)
    evaluate.set_defaults(func=run_evaluate)


def _print_json(body: object) -> None:
    json.dump(body, sys.stdout, indent=2, allow_nan=False)
    sys.stdout.write("\n")


def run_train(args: argparse.Namespace) -> int:
    from server.nilm.apply import train_from_dataset
    from server.nilm.data import parse_until

    until = parse_until(args.until) if args.until else None
    model = train_from_dataset(
        args.dataset,
        args.household,
        args.appliance,
        until=until,
        causal=args.causal,
        transfer=args.transfer,
        stacked=args.stacked,
        on_threshold_w=args.on_threshold_w,
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    header = {k: v for k, v in model.header.items() if k != "feature_names"}
    _print_json({"model": str(out), **header})
    return 0


def run_apply(args: argparse.Namespace) -> int:
    from server.nilm.apply import apply_to_dataset
    from server.nilm.data import NilmError
    from server.nilm.model import Disaggregator

    try:
        model = Disaggregator.load(args.model).rated(args.rated_w)
    except NilmError as err:
        raise NilmError(f"--rated-w: {err}") from err
    summary = apply_to_dataset(args.dataset, args.household, model, args.out)
    for note in summary["notes"]:
        print(f"python -m server nilm apply: note: {note}", file=sys.stderr)
    _print_json(summary)
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from server.nilm.data import parse_until
    from server.nilm.evaluate import evaluate

    report = evaluate(
        args.dataset,
        args.household,
        args.appliance,
        parse_until(args.train_until),
        causal=args.causal,
        transfer=args.transfer,
        stacked=args.stacked,
        train_households=args.train_household,
        on_threshold_w=args.on_threshold_w,
        rated_w=args.rated_w,
    )
    _print_json(report)
    return 0
