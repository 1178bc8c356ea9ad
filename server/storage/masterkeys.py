"""``python -m server keys new-master --out FILE`` and ``python -m server keys rotate-master
--new-key-file FILE``: make a master key, and re-wrap every data key under it while servers run.

Rotation, step by step (docs/privacy.md):

1. ``keys new-master --out NEW`` writes a random key (0600); keep a copy apart from backups of
   the database.
2. ``keys rotate-master --new-key-file NEW`` reads the current key (``--master-key-file``, else
   ``GRIDLIGHT_MASTER_KEY_FILE``, else ``DATA_DIR/master_key``), puts the new one beside it as
   ``<file>.next`` (a worker starting now accepts either), re-wraps every data key in one
   transaction (until it commits, the old key is the one in force; on failure nothing
   changed), then keeps the old key as ``<file>.retired-<id>`` and moves the new one into
   ``<file>``. With ``--no-install`` (a read-only secret mount) the files are left alone: point
   ``GRIDLIGHT_MASTER_KEY_FILE`` at the new key on every host before their next start.

Running servers hold their data keys unwrapped and never need the master key again until they
restart: no request fails during a rotation.
"""

from __future__ import annotations

import argparse
import os
import shutil
from pathlib import Path

from server.cli import CommandError
from server.storage.crypto import (
    CryptoError,
    master_key_from_value,
    master_key_path,
    next_key_path,
    read_master_key,
    rotate_master,
    write_master_key,
)
from server.storage.database import command_database

__all__ = ["new_master", "rotate"]


def _cfg(args: argparse.Namespace) -> dict[str, str | None]:
    data_dir = args.data_dir or os.environ.get("GRIDLIGHT_DATA_DIR", "data")
    given = getattr(args, "master_key_file", None) or os.environ.get("GRIDLIGHT_MASTER_KEY_FILE")
    return {"MASTER_KEY_FILE": given or None, "DATA_DIR": data_dir}


def new_master(args: argparse.Namespace) -> int:
    out = Path(args.out)
    if out.exists():
        raise CommandError(f"{out} exists already: choose a new file (a key is never overwritten)")
    key = write_master_key(out)
    print(f"new master key {key.id} written to {out} (0600); keep a copy apart from the database")
    return 0


def rotate(args: argparse.Namespace) -> int:
    cfg = _cfg(args)
    value = os.environ.get("GRIDLIGHT_MASTER_KEY")
    if value and not getattr(args, "master_key_file", None):
        # the key is a value in the environment: nothing to install, the operator sets it
        try:
            old, new = master_key_from_value(value), read_master_key(args.new_key_file)
        except CryptoError as err:
            raise CommandError(str(err)) from err
        db = command_database(cfg["DATA_DIR"])
        try:
            count = rotate_master(db, old, new)
        except CryptoError as err:
            raise CommandError(str(err)) from err
        finally:
            db.dispose()
        print(f"re-wrapped {count} data keys from master key {old.id} to {new.id}")
        print(f"set GRIDLIGHT_MASTER_KEY to the contents of {args.new_key_file} on every host")
        return 0
    path = master_key_path(cfg)
    if not path.exists():
        raise CommandError(f"the current master key {path} does not exist")
    try:
        old = read_master_key(path)
        new = read_master_key(args.new_key_file)
    except CryptoError as err:
        raise CommandError(str(err)) from err
    upcoming = next_key_path(path)
    install = not args.no_install
    if install:
        if upcoming.exists() and read_master_key(upcoming).id != new.id:
            raise CommandError(f"{upcoming} holds another key: an unfinished rotation? remove it")
        shutil.copyfile(args.new_key_file, upcoming)
        os.chmod(upcoming, 0o600)
    db = command_database(cfg["DATA_DIR"])
    try:
        count = rotate_master(db, old, new)
    except CryptoError as err:
        if install:
            upcoming.unlink(missing_ok=True)
        raise CommandError(str(err)) from err
    finally:
        db.dispose()
    print(f"re-wrapped {count} data keys from master key {old.id} to {new.id}")
    if install:
        retired = path.with_name(f"{path.name}.retired-{old.id}")
        if not retired.exists():
            os.link(path, retired)
        os.replace(upcoming, path)
        print(f"{path} now holds the new key; the old one is kept as {retired}")
    else:
        print(f"point GRIDLIGHT_MASTER_KEY_FILE at {args.new_key_file} on every host")
    return 0
