"""Encryption at rest: AES-256-GCM envelope encryption of personal columns.

::

    master key (32 bytes, a file: MASTER_KEY_FILE, else DATA_DIR/master_key made on first start)
        │ wraps (AES-256-GCM, associated data "gridlight/data-key/<id>")
        ▼
    data_keys rows: id, purpose ('data' or 'index'), wrapped key, the master key's id
        │ 'data' keys seal values, the 'index' key makes lookup hashes (HMAC-SHA256)
        ▼
    sealed value: "gl1:<key id>:<base64url(nonce 12 bytes ‖ ciphertext ‖ tag 16 bytes)>"

A sealed value is bound to where it lives by associated data (``"users.email|<email hash>"``,
``"devices.token|<household>|<token hash>"``, ...): copied into another row or column it no
longer opens. ``gl1`` is the format's version. A :class:`Keyring` unwraps every data key once,
when it opens, and keeps them in memory: the master key is needed to start, not to serve.

Rotating the master key (:func:`rotate_master`, ``python -m server keys rotate-master``)
re-wraps every data key under a new one in a single transaction: no value is re-encrypted,
running servers keep their unwrapped keys, and until the transaction commits the old master key
stays the one in force (a failure leaves every row as it was). A server started afterwards
needs the new key.

Lookups of sealed values go by :meth:`Keyring.index`, an HMAC under the 'index' data key, so the
plaintext is never stored and rotation changes no index. The users' email lookup keeps its
own keyed hash (:mod:`server.accounts.users`, under ``SECRET_KEY``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from server.storage.database import Database

__all__ = [
    "PREFIX",
    "CryptoError",
    "Keyring",
    "MasterKey",
    "MasterKeyMismatch",
    "load_master_key",
    "load_master_keys",
    "master_key_from_value",
    "master_key_path",
    "next_key_path",
    "read_master_key",
    "rotate_master",
    "write_master_key",
]

log = logging.getLogger(__name__)

#: The sealed format's version tag (and how a sealed value starts).
PREFIX = "gl1:"
NONCE_BYTES = 12
KEY_BYTES = 32
#: The first data key and the lookup key (fixed ids: workers starting at once agree on them).
DATA_KEY_ID = "d1"
INDEX_KEY_ID = "i1"
MASTER_FILE = "master_key"


class CryptoError(ValueError):
    """A value or key that cannot be opened: wrong key, altered, or not in the sealed format."""


class MasterKeyMismatch(CryptoError):
    """The data keys are wrapped under another master key than the one configured."""


class MasterKey:
    """A 256-bit key-encryption key; :attr:`id` names it without revealing it."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise CryptoError(f"a master key is {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(key)
        self.id = hmac.new(key, b"gridlight/master-key-id", hashlib.sha256).hexdigest()[:16]

    @classmethod
    def generate(cls) -> MasterKey:
        return cls(AESGCM.generate_key(bit_length=256))

    def wrap(self, key_id: str, key: bytes) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, key, _wrap_ad(key_id))
        return base64.b64encode(nonce + sealed).decode()

    def unwrap(self, key_id: str, wrapped: str) -> bytes:
        try:
            raw = base64.b64decode(wrapped, validate=True)
            return self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _wrap_ad(key_id))
        except (InvalidTag, binascii.Error, ValueError) as err:
            raise CryptoError(
                f"data key {key_id!r} does not open with master key {self.id}"
            ) from err

    def __repr__(self) -> str:
        return f"MasterKey(id={self.id})"


def _wrap_ad(key_id: str) -> bytes:
    return b"gridlight/data-key/" + key_id.encode()


# -- the master key's file ------------------------------------------------------------------------
def read_master_key(path: str | os.PathLike[str]) -> MasterKey:
    """The master key in ``path``: 32 bytes as base64 (what :func:`write_master_key` writes) or
    64 hex digits, on one line."""
    text = Path(path).read_text(encoding="utf-8").strip()
    raw = _key_bytes(text)
    if raw is None:
        raise CryptoError(
            f"the master key file {path} must hold {KEY_BYTES} bytes as base64 (44 characters) "
            f"or hex (64 digits); make one with: python -m server keys new-master --out FILE"
        )
    return MasterKey(raw)


def _key_bytes(text: str) -> bytes | None:
    try:
        raw = bytes.fromhex(text) if len(text) == 2 * KEY_BYTES else base64.b64decode(text)
    except (ValueError, binascii.Error):
        return None
    return raw if len(raw) == KEY_BYTES else None


def master_key_from_value(value: str) -> MasterKey:
    """``MASTER_KEY`` given as a value (a platform's generated secret): 32 bytes as base64 or
    hex, else any text of at least 32 characters, stretched to 256 bits with HKDF-SHA256."""
    text = value.strip()
    raw = _key_bytes(text)
    if raw is not None:
        return MasterKey(raw)
    if len(text) < KEY_BYTES:
        raise CryptoError(
            f"MASTER_KEY must be 32 bytes as base64 or hex, or a random text of at least "
            f"{KEY_BYTES} characters; got {len(text)} characters"
        )
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    kdf = HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=b"gridlight/master-key")
    return MasterKey(kdf.derive(text.encode()))


def write_master_key(path: str | os.PathLike[str]) -> MasterKey:
    """A new random master key written to ``path`` (created 0600, never over an existing file)."""
    key = AESGCM.generate_key(bit_length=256)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(base64.b64encode(key).decode() + "\n")
    return MasterKey(key)


def master_key_path(cfg: Mapping[str, Any]) -> Path:
    """The configured master key's file: ``MASTER_KEY_FILE``, else ``DATA_DIR/master_key``."""
    given = cfg.get("MASTER_KEY_FILE")
    return Path(given) if given else Path(cfg["DATA_DIR"]) / MASTER_FILE


def next_key_path(path: Path) -> Path:
    """Where a rotation puts the new key before it commits (read beside the current one)."""
    return path.with_name(path.name + ".next")


def load_master_keys(cfg: Mapping[str, Any]) -> list[MasterKey]:
    """The master key (``MASTER_KEY`` when given as a value, else :func:`load_master_key`),
    then the one a rotation in progress left in ``<file>.next`` if any: :meth:`Keyring.load`
    takes whichever wraps the data keys, so a worker starting during a rotation finds its key
    either way."""
    if cfg.get("MASTER_KEY"):
        return [master_key_from_value(str(cfg["MASTER_KEY"]))]
    keys = [load_master_key(cfg)]
    upcoming = next_key_path(master_key_path(cfg))
    if upcoming.exists():
        keys.append(read_master_key(upcoming))
    return keys


def load_master_key(cfg: Mapping[str, Any]) -> MasterKey:
    """``MASTER_KEY_FILE`` when set, else ``DATA_DIR/master_key``, created on first start (0600)
    with a warning to keep a copy. Workers starting at once agree on one file (written aside,
    then linked into place exclusively)."""
    path = master_key_path(cfg)
    if cfg.get("MASTER_KEY_FILE"):
        if not path.exists():
            raise CryptoError(f"MASTER_KEY_FILE names {path}, which does not exist")
        return read_master_key(path)
    if path.exists():
        return read_master_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{MASTER_FILE}.{os.getpid()}.{secrets.token_hex(4)}")
    write_master_key(draft)
    try:
        os.link(draft, path)
    except FileExistsError:
        return read_master_key(path)
    finally:
        draft.unlink()
    log.warning(
        "created the master key that encrypts personal data at rest in %s: keep a copy of it "
        "apart from the database (without it emails, phone numbers, webhooks and push tokens "
        "cannot be read), or set GRIDLIGHT_MASTER_KEY_FILE",
        path,
    )
    return read_master_key(path)


# -- data keys ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Row:
    id: str
    purpose: str
    wrapped: str
    master_id: str


def _rows(conn: Any) -> list[_Row]:
    return [
        _Row(r[0], r[1], r[2], r[3])
        for r in conn.execute(
            sa.text("SELECT id, purpose, wrapped, master_id FROM data_keys ORDER BY id")
        )
    ]


class Keyring:
    """The installation's data keys, unwrapped: seals and opens values, makes lookup hashes."""

    def __init__(self, keys: dict[str, bytes], active: str, index_key: bytes, master_id: str):
        self._aead = {k: AESGCM(v) for k, v in keys.items()}
        self.active = active
        self._index_key = index_key
        self.master_id = master_id
        self._lock = threading.Lock()

    @classmethod
    def load(
        cls, db: Database, masters: MasterKey | list[MasterKey], *, clock: Any = time.time
    ) -> Keyring:
        """The keyring of ``db`` (its first data and index keys made, wrapped under the first of
        ``masters``, when it has none); :class:`MasterKeyMismatch` when its keys are wrapped
        under none of them."""
        candidates = masters if isinstance(masters, list) else [masters]
        with db.read() as c:
            rows = _rows(c)
        in_force = {r.master_id for r in rows}
        master = next((m for m in candidates if m.id in in_force), candidates[0])
        missing = {DATA_KEY_ID, INDEX_KEY_ID} - {r.id for r in rows}
        if missing:
            with db.write() as c:
                for key_id in sorted(missing):
                    purpose = "index" if key_id == INDEX_KEY_ID else "data"
                    c.execute(
                        sa.text(
                            "INSERT INTO data_keys (id, purpose, wrapped, master_id, created_s)"
                            " VALUES (:id, :purpose, :wrapped, :master, :now)"
                            " ON CONFLICT (id) DO NOTHING"
                        ),
                        {
                            "id": key_id,
                            "purpose": purpose,
                            "wrapped": master.wrap(key_id, AESGCM.generate_key(bit_length=256)),
                            "master": master.id,
                            "now": float(clock()),
                        },
                    )
                rows = _rows(c)
        keys: dict[str, bytes] = {}
        index_key = b""
        for row in rows:
            if row.master_id != master.id:
                raise MasterKeyMismatch(
                    f"the data keys are wrapped under master key {row.master_id}, but the "
                    f"configured master key is {', '.join(m.id for m in candidates)}: after "
                    "`keys rotate-master`, point GRIDLIGHT_MASTER_KEY_FILE at the new key"
                )
            key = master.unwrap(row.id, row.wrapped)
            if row.purpose == "index":
                index_key = key
            else:
                keys[row.id] = key
        active = max(keys, key=lambda k: (len(k), k))
        return cls(keys, active, index_key, master.id)

    # -- values ------------------------------------------------------------------------------
    def seal(self, plaintext: str, context: str) -> str:
        """``plaintext`` encrypted under the active data key, bound to ``context`` (where it is
        stored: ``"table.column|row"``)."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead[self.active].encrypt(
            nonce, plaintext.encode("utf-8"), _ad(self.active, context)
        )
        return f"{PREFIX}{self.active}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def open(self, sealed: str, context: str) -> str:
        """The plaintext of a :meth:`seal`-ed value stored at ``context``."""
        key_id, raw = _parse(sealed)
        aead = self._aead.get(key_id)
        if aead is None:
            raise CryptoError(f"a value is sealed under data key {key_id!r}, which is unknown")
        try:
            plain = aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _ad(key_id, context))
        except InvalidTag as err:
            raise CryptoError(f"a value sealed for {context.split('|')[0]} does not open") from err
        return plain.decode("utf-8")

    def seal_optional(self, plaintext: str | None, context: str) -> str | None:
        return None if plaintext is None else self.seal(plaintext, context)

    def open_optional(self, sealed: str | None, context: str) -> str | None:
        return None if sealed is None else self.open(sealed, context)

    def index(self, value: str, purpose: str) -> str:
        """The lookup hash of ``value`` for ``purpose`` (HMAC-SHA256 under the index key, hex)."""
        message = purpose.encode() + b"\x00" + value.encode("utf-8")
        return hmac.new(self._index_key, message, hashlib.sha256).hexdigest()


def is_sealed(value: str | None) -> bool:
    """Whether ``value`` is in the sealed format (not whether it opens)."""
    if value is None or not value.startswith(PREFIX):
        return False
    try:
        _parse(value)
    except CryptoError:
        return False
    return True


def _ad(key_id: str, context: str) -> bytes:
    return f"gridlight/gl1/{key_id}/{context}".encode()


def _parse(sealed: str) -> tuple[str, bytes]:
    if not sealed.startswith(PREFIX):
        raise CryptoError("not a sealed value (no 'gl1:' prefix)")
    key_id, sep, body = sealed[len(PREFIX) :].partition(":")
    try:
        raw = base64.urlsafe_b64decode(body.encode())
    except (binascii.Error, ValueError):
        raw = b""
    if not sep or not key_id or len(raw) < NONCE_BYTES + 16:
        raise CryptoError("not a sealed value (expected gl1:<key id>:<base64url>)")
    return key_id, raw


# -- rotation -------------------------------------------------------------------------------------
def rotate_master(db: Database, old: MasterKey, new: MasterKey, *, clock: Any = time.time) -> int:
    """Re-wrap every data key from ``old`` under ``new`` in one transaction; the number of keys
    re-wrapped. Keys already under ``new`` are left (a rotation that ran before); a key under
    neither is an error, and nothing changes."""
    if old.id == new.id:
        raise CryptoError("the new master key is the one in force: make a new one first")
    with db.write() as c:
        if c.dialect.name == "postgresql":
            c.execute(sa.text("LOCK TABLE data_keys IN EXCLUSIVE MODE"))
        rows = _rows(c)
        changed = 0
        for row in rows:
            if row.master_id == new.id:
                new.unwrap(row.id, row.wrapped)  # it really is
                continue
            if row.master_id != old.id:
                raise MasterKeyMismatch(
                    f"data key {row.id!r} is wrapped under master key {row.master_id}, neither "
                    f"the current ({old.id}) nor the new one ({new.id})"
                )
            key = old.unwrap(row.id, row.wrapped)
            c.execute(
                sa.text(
                    "UPDATE data_keys SET wrapped = :wrapped, master_id = :master,"
                    " rotated_s = :now WHERE id = :id AND master_id = :old"
                ),
                {
                    "wrapped": new.wrap(row.id, key),
                    "master": new.id,
                    "now": float(clock()),
                    "id": row.id,
                    "old": old.id,
                },
            )
            changed += 1
    return changed
