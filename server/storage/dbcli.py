"""``python -m server db upgrade|current|copy``: the installation's schema and moving it.

* ``db upgrade`` migrates the database to the newest schema (the server also does this at
  start, so this is for deployments that migrate before rolling out).
* ``db current`` prints the database's revision and the newest one.
* ``db copy --from URL --to URL`` moves every table (SQLite → PostgreSQL when an installation
  outgrows one host, or back); resumable, with row counts checked at the end.

The database is ``--url``, else ``DATABASE_URL``, else the SQLite file of the data
directory.
"""

from __future__ import annotations

import argparse
import sys

from server.cli import CommandError
from server.storage.database import command_database, open_database
from server.storage.migrate import current, head


def _database(args: argparse.Namespace):  # noqa: ANN202
    return open_database(args.url) if args.url else command_database(args.data_dir)


def _upgrade(args: argparse.Namespace) -> int:
    db = _database(args)  # opening upgrades it
    try:
        print(f"{db}: at revision {current(db)} (newest {head()})")
    finally:
        db.dispose()
    return 0


def _current(args: argparse.Namespace) -> int:
    db = _database(args)
    try:
        print(f"{db}: revision {current(db)}, newest {head()}")
    finally:
        db.dispose()
    return 0


def _copy(args: argparse.Namespace) -> int:
    from server.storage.copy import CopyMismatch, copy_database

    if args.source == args.target:
        raise CommandError("--from and --to name the same database")
    source = open_database(args.source)
    target = open_database(args.target)
    try:
        if current(source) != current(target):
            raise CommandError(
                f"the databases are at different revisions ({current(source)} and"
                f" {current(target)}); upgrade both first"
            )
        try:
            tables = copy_database(source, target, batch=args.batch)
        except CopyMismatch as err:
            raise CommandError(str(err)) from err
    finally:
        source.dispose()
        target.dispose()
    for t in tables:
        print(
            f"{t.table:<24} {t.copied:>10} copied  {t.target_rows:>10} rows (source {t.source_rows})"
        )
    print(
        f"copied {sum(t.copied for t in tables)} rows; every table's count matches", file=sys.stderr
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    db = sub.add_parser("db", help="the installation's database: upgrade, current, copy")
    dsub = db.add_subparsers(dest="action", required=True, metavar="ACTION")
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--url",
        help="database URL (default: $DATABASE_URL or the data directory's SQLite file)",
    )
    where.add_argument("--data-dir", help="data directory (default: $GRIDLIGHT_DATA_DIR or data/)")
    up = dsub.add_parser("upgrade", parents=[where], help="migrate to the newest schema")
    up.set_defaults(func=_upgrade)
    cur = dsub.add_parser("current", parents=[where], help="print the schema revision")
    cur.set_defaults(func=_current)
    cp = dsub.add_parser("copy", help="copy every table to another database (resumable)")
    cp.add_argument("--from", dest="source", required=True, metavar="URL")
    cp.add_argument("--to", dest="target", required=True, metavar="URL")
    cp.add_argument("--batch", type=int, default=5000, help="rows per transaction (default 5000)")
    cp.set_defaults(func=_copy)
