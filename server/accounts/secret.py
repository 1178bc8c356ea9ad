"""The installation's secret (``SECRET_KEY``): it signs session cookies and email links, and keys
the email lookup hash.

Taken from ``SECRET_KEY``, else the file ``SECRET_KEY_FILE`` names, else ``DATA_DIR/secret_key``,
which the first start creates (0600, 256 random bits) with a warning to back it up: a new secret
signs everyone out, voids the links sent, and makes every stored email hash unfindable.
Several workers starting at once agree on one file (written aside, then linked into place
exclusively; the losers read the winner's).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets
from pathlib import Path
from typing import Any

from server.config import secret

__all__ = ["derive", "load_secret"]

log = logging.getLogger(__name__)


def load_secret(cfg: Any, *, shared_database: bool = False) -> str:
    """The secret, as the module doc says; ``shared_database``: hosts share the database
    (PostgreSQL), so a secret made under this host's data directory is an error to log (the
    other hosts would hash emails and sign sessions with another one)."""
    given = secret(cfg, "SECRET_KEY")
    if given is not None:
        if not given:
            raise ValueError(f"the secret key file {cfg['SECRET_KEY_FILE']} is empty")
        return given
    path = Path(cfg["DATA_DIR"]) / "secret_key"
    if shared_database:
        log.error(
            "SECRET_KEY is not set but the database is shared: every host must have the same "
            "SECRET_KEY (or SECRET_KEY_FILE), else sign-in and sessions work on one host only; "
            "using %s",
            path,
        )
    if path.exists():
        return _read(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".secret_key.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(draft, path)  # complete or absent: another worker never reads half a file
    except FileExistsError:
        return _read(path)  # another worker made it first
    finally:
        draft.unlink()
    log.warning(
        "created the installation's secret in %s: back it up (losing it signs everyone out "
        "and makes stored emails unfindable), or set SECRET_KEY / SECRET_KEY_FILE",
        path,
    )
    return _read(path)


def _read(path: Path) -> str:
    text = path.read_text(encoding="utf-8").strip()
    if not text:
        raise ValueError(f"the secret key file {path} is empty")
    return text


def derive(secret: str, purpose: str) -> bytes:
    """A sub-key of ``secret`` for one ``purpose`` (HMAC-SHA256), so that no two uses share a key."""
    return hmac.new(secret.encode(), b"gridlight/" + purpose.encode(), hashlib.sha256).digest()
