"""``python -m server reports generate --household H --month YYYY-MM [--dataset DIR] [--out FILE]``.

With ``--dataset`` the household is read from that dataset directory (replayed and imported
households: ``python -m generator import uci … --out DIR``); without it, from the data directory
(``GRIDLIGHT_DATA_DIR``: its datasets, else a live household's stored rollups). ``--out`` writes
the PDF there; without it the report is stored under the data directory and indexed, as the
schedule does (it is then listed and served by the API; nothing is emailed). The month's alerts
and earlier months' savings are read from the installation's database when there is one
(``GRIDLIGHT_DATABASE_URL``, else the data directory's SQLite file).
``--tariff FILE`` (a tariff document) replaces the default tariff; ``--zone`` the carbon zone.
Bad input (an unknown household, a month not ``YYYY-MM`` or not begun) exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC
from pathlib import Path
from typing import Any

__all__ = ["register"]


def _month(text: str) -> str:
    from server.reports.months import parse_month

    try:
        return parse_month(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add ``reports generate``."""
    reports = subparsers.add_parser(
        "reports", help="monthly PDF reports", description="Monthly PDF reports."
    )
    sub = reports.add_subparsers(dest="reports_command", required=True, metavar="COMMAND")
    gen = sub.add_parser(
        "generate",
        help="make one household's report of one month",
        description="Make one household's PDF report of one calendar month (its time zone).",
    )
    gen.add_argument("--household", required=True, metavar="H", help="household id")
    gen.add_argument("--month", required=True, type=_month, metavar="YYYY-MM")
    gen.add_argument("--dataset", metavar="DIR", help="dataset directory (else the data dir)")
    gen.add_argument("--out", metavar="FILE", help="write the PDF here (else store and index it)")
    gen.add_argument("--tariff", metavar="FILE", help="tariff JSON document")
    gen.add_argument("--zone", metavar="CODE", help="carbon zone (country code, e.g. FR)")
    gen.set_defaults(func=run_generate)


def _first_ts(dataset: Path, household: str) -> float | None:
    """The first reading of a dataset household [epoch s] (from the parquet metadata)."""
    import pyarrow.parquet as pq

    from generator.dataset import CLEAN_FILE, read_dataset

    try:
        meta = pq.ParquetFile(dataset / CLEAN_FILE).metadata
        column = meta.schema.to_arrow_schema().get_field_index("ts")
        stats = [meta.row_group(i).column(column).statistics for i in range(meta.num_row_groups)]
        first = min(s.min for s in stats if s is not None and s.has_min_max)
        return float(first.timestamp() if first.tzinfo else first.replace(tzinfo=UTC).timestamp())
    except (OSError, ValueError, AttributeError):
        frame = read_dataset(dataset, faulty=False).frame(household)
        return None if frame.empty else float(frame.index[0].timestamp())


def run_generate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from generator.dataset import DatasetError, read_meta
    from server import config
    from server.insights import Tariff
    from server.insights.errors import TariffError
    from server.reports.generate import ReportTask, carbon_for, default_tariff_for, run_task
    from server.reports.months import month_bounds
    from server.reports.store import ReportStore
    from server.storage import KeyStore
    from server.storage.database import DB_FILE, command_database

    cfg = config.load()
    data_dir = Path(cfg["DATA_DIR"])
    # --out with no database yet: nothing to read, nothing created
    has_db = (
        bool(os.environ.get("DATABASE_URL") or os.environ.get("GRIDLIGHT_DATABASE_URL"))
        or (data_dir / DB_FILE).exists()
    )
    db = command_database(data_dir) if (has_db or not args.out) else None
    try:
        dataset: Path | None = None
        database: str | None = None
        joined_s: float | None = None
        if args.dataset:
            dataset = Path(args.dataset)
            infos, _ = read_meta(dataset)
            if args.household not in infos:
                known = ", ".join(sorted(infos)) or "none"
                raise DatasetError(f"unknown household {args.household!r} (known: {known})")
            info = infos[args.household]
        else:
            from server.households.catalogue import Households

            catalogue = Households(data_dir)
            try:
                info = catalogue.info(args.household)
                dataset = catalogue.dataset_path(args.household)
            except Exception:  # noqa: BLE001 - not in a dataset: a live household?
                live = KeyStore(db).get(args.household) if db is not None else None
                if live is None:
                    raise DatasetError(
                        f"unknown household {args.household!r}: not in a dataset under "
                        f"{data_dir} nor a live household (give --dataset DIR)"
                    ) from None
                from server.ingest.history import live_info

                assert db is not None
                info, database, joined_s = live_info(live), db.url, float(live.created_s)
        if dataset is not None:
            joined_s = _first_ts(dataset, info.id)
        start, _ = month_bounds(args.month, info.timezone)
        if start.timestamp() > time.time():
            raise ValueError(f"month: {args.month} has not begun in {info.timezone}")
        if args.zone:
            info = replace(info, extra={**info.extra, "carbon_zone": args.zone})
        if args.tariff:
            try:
                doc = json.loads(Path(args.tariff).read_text())
            except (OSError, json.JSONDecodeError) as err:
                raise TariffError(f"argument --tariff: cannot read {args.tariff!r}: {err}") from err
            tariff: Any = Tariff.from_json(doc, timezone=info.timezone)
        else:
            tariff = default_tariff_for(info)
        alerts: list[dict[str, Any]] = []
        prior: dict[str, dict[str, Any]] = {}
        store = None
        schedules = None
        if db is not None:
            from server.alerts.store import AlertLog
            from server.reports.control_runs import schedule_runs

            end = month_bounds(args.month, info.timezone)[1]
            log, cursor = AlertLog(db), None
            while True:
                page, cursor = log.page(
                    info.id,
                    from_s=int(start.timestamp()),
                    to_s=int(end.timestamp()),
                    cursor=cursor,
                    limit=500,
                )
                alerts += [
                    {"level": a["level"], "rule": a["rule"], "kind": a["kind"]} for a in page
                ]
                if cursor is None:
                    break
            schedules = schedule_runs(db, info.id, int(start.timestamp()), int(end.timestamp()))
            store = ReportStore(db, data_dir)
            prior = {m: s for m, s in store.summaries(info.id).items() if m < args.month}
        task = ReportTask(
            info=info.to_json(),
            month=args.month,
            dataset=None if dataset is None else str(dataset),
            database=database,
            tariff=None if tariff is None else tariff.to_json(),
            carbon=carbon_for(info),
            alerts=alerts,
            prior=prior,
            joined_s=joined_s,
            schedules=schedules,
        )
        pdf, summary = run_task(task)
        summary.pop("render_s", None)
        if args.out:
            out = Path(args.out)
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(pdf)
            where = str(out)
        else:
            assert store is not None
            where = str(store.save(info.id, args.month, pdf, summary).path)
        print(
            f"wrote {where}: {info.id} {args.month}, {len(pdf)} bytes, "
            f"{summary['energy_kwh']} kWh, {summary['co2_kg']} kg CO2",
            file=sys.stdout,
        )
        return 0
    finally:
        if db is not None:
            db.dispose()
