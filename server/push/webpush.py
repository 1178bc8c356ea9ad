"""Web Push (RFC 8030, payloads encrypted per RFC 8291, VAPID per RFC 8292) for the dashboard
installed as a web app: a browser's push subscription per household, and alerts pushed to it.

* A subscription is what ``PushManager.subscribe()`` gives a page: the push service's
  ``endpoint`` (a capability URL: whoever holds it can push to that browser) and the browser's
  ``keys`` (``p256dh``, its P-256 public key; ``auth``, a 16-byte secret), both base64url.
  Stored per household in the ``webpush_subscriptions`` table, sealed (AES-256-GCM, like push
  tokens) and found by the endpoint's keyed hash; logs show :func:`endpoint_ref`, never the
  whole URL.
* The application server's VAPID key pair is derived from the installation's secret key
  (HKDF-SHA256, purpose ``gridlight/vapid``), so every host of an installation signs with the
  same key, and browsers that subscribed on one host's page accept pushes from any other.
  ``GET /api/v1/webpush/key`` gives its public half (the page's ``applicationServerKey``).
* :class:`WebPushSender` sends through ``pywebpush`` (payload encryption, the VAPID JWT, TTL and
  urgency headers); a push service answering 404 or 410 means the subscription is gone, and
  the caller prunes it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from pydantic import ConfigDict, Field, field_validator

from server.storage.crypto import Keyring
from server.storage.database import Database
from server.storage.sealing import WEBPUSH_INDEX, webpush_context
from server.validation import Body

__all__ = [
    "SubscriptionKeys",
    "WebPushResult",
    "WebPushSender",
    "WebPushStore",
    "WebPushSubscription",
    "application_server_key",
    "endpoint_ref",
    "vapid_private_key",
]

ENDPOINT_MAX_LEN = 2048
#: secp256r1's group order: a derived scalar is reduced into [1, n - 1].
_P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class SubscriptionKeys(Body):
    model_config = ConfigDict(extra="ignore")

    p256dh: str = Field(
        description="the browser's P-256 public key, base64url (65 bytes, uncompressed point)",
        max_length=200,
    )
    auth: str = Field(description="the browser's 16-byte auth secret, base64url", max_length=64)

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value: str) -> str:
        try:
            raw = _b64url_decode(value)
            ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        except (binascii.Error, ValueError):
            raise ValueError("must be a base64url P-256 public key (65 bytes)") from None
        if len(raw) != 65:
            raise ValueError("must be a base64url P-256 public key (65 bytes)")
        return value

    @field_validator("auth")
    @classmethod
    def _secret(cls, value: str) -> str:
        try:
            raw = _b64url_decode(value)
        except (binascii.Error, ValueError):
            raise ValueError("must be base64url (16 bytes)") from None
        if len(raw) != 16:
            raise ValueError(f"must be 16 bytes base64url, got {len(raw)}")
        return value


#: What a browser's ``PushSubscription.toJSON()`` looks like (a real P-256 point; the endpoint
#: is a made-up push service's).
EXAMPLE_SUBSCRIPTION = {
    "endpoint": "https://push.example.org/send/dGhpcy1pcy1hbi1leGFtcGxl",
    "keys": {
        "p256dh": "BPtQOI8pSY0Kk60l7Ew0A3udPMPMpHh-tv7aviswA-rIn3dlyp1iiOb_c09c0I86WSHPVLIbs5i1CsDSV3-gdHI",
        "auth": "AAECAwQFBgcICQoLDA0ODw",
    },
}


class WebPushSubscription(Body):
    """A browser's push subscription, as ``PushSubscription.toJSON()`` gives it."""

    model_config = ConfigDict(
        extra="ignore", json_schema_extra={"examples": [EXAMPLE_SUBSCRIPTION]}
    )

    endpoint: str = Field(
        description="the push service's URL for this browser (https; http only on loopback)",
        min_length=10,
        max_length=ENDPOINT_MAX_LEN,
    )
    keys: SubscriptionKeys

    @field_validator("endpoint")
    @classmethod
    def _url(cls, value: str) -> str:
        parts = urlsplit(value)
        loopback = parts.hostname in ("127.0.0.1", "::1", "localhost")
        if not parts.hostname or not (
            parts.scheme == "https" or (parts.scheme == "http" and loopback)
        ):
            raise ValueError("must be an https URL (a push service's endpoint)")
        return value


class WebPushRemoval(Body):
    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"endpoint": EXAMPLE_SUBSCRIPTION["endpoint"]}]},
    )

    endpoint: str = Field(min_length=1, max_length=ENDPOINT_MAX_LEN)


def endpoint_ref(endpoint: str) -> str:
    """An endpoint for logs: its host and a short hash (the URL itself is a credential)."""
    host = urlsplit(endpoint).hostname or "?"
    return f"{host}/…{hashlib.sha256(endpoint.encode()).hexdigest()[:8]}"


# -- keys ---------------------------------------------------------------------------------------
def vapid_private_key(secret: str | bytes) -> ec.EllipticCurvePrivateKey:
    """The installation's VAPID key, derived from its secret key (same on every host)."""
    material = secret.encode() if isinstance(secret, str) else bytes(secret)
    okm = HKDF(algorithm=hashes.SHA256(), length=48, salt=None, info=b"gridlight/vapid").derive(
        material
    )
    scalar = int.from_bytes(okm, "big") % (_P256_ORDER - 1) + 1
    return ec.derive_private_key(scalar, ec.SECP256R1())


def application_server_key(key: ec.EllipticCurvePrivateKey) -> str:
    """The public half as browsers want it: the uncompressed point, base64url."""
    raw = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return _b64url(raw)


# -- storage ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StoredSubscription:
    endpoint: str
    p256dh: str
    auth: str

    def info(self) -> dict[str, Any]:
        """The ``subscription_info`` pywebpush takes."""
        return {"endpoint": self.endpoint, "keys": {"p256dh": self.p256dh, "auth": self.auth}}


_INSERT = sa.text(
    "INSERT INTO webpush_subscriptions"
    " (household, endpoint_hash, endpoint, browser_keys, created_s, updated_s)"
    " VALUES (:household, :hash, :endpoint, :browser_keys, :now, :now)"
    " ON CONFLICT (household, endpoint_hash) DO NOTHING RETURNING endpoint_hash"
)


class WebPushStore:
    """Subscriptions per household in the installation's database (shared by every host); the
    endpoint and the browser's keys sealed (:mod:`server.storage.crypto`), the endpoint found by
    its keyed hash."""

    def __init__(
        self, db: Database, keyring: Keyring, clock: Callable[[], float] = time.time
    ) -> None:
        from server.storage.schema import webpush_subscriptions

        self.db = db
        self.keyring = keyring
        self.table = webpush_subscriptions
        self.clock = clock

    def _hash(self, endpoint: str) -> str:
        return self.keyring.index(endpoint, WEBPUSH_INDEX)

    def _sealed(self, household: str, sub: WebPushSubscription, endpoint_hash: str) -> dict:
        keys = json.dumps({"p256dh": sub.keys.p256dh, "auth": sub.keys.auth})
        return {
            "endpoint": self.keyring.seal(
                sub.endpoint, webpush_context("endpoint", household, endpoint_hash)
            ),
            "browser_keys": self.keyring.seal(
                keys, webpush_context("browser_keys", household, endpoint_hash)
            ),
        }

    def add(self, household: str, sub: WebPushSubscription) -> bool:
        """Store (or refresh the keys of) a subscription; whether it is new. Two workers adding
        one subscription at once make one row (as :class:`~server.push.devices.DeviceStore`)."""
        t = self.table
        now = int(self.clock())
        endpoint_hash = self._hash(sub.endpoint)
        sealed = self._sealed(household, sub, endpoint_hash)
        where = (t.c.household == household) & (t.c.endpoint_hash == endpoint_hash)
        refresh = t.update().where(where).values(updated_s=now, **sealed)
        with self.db.write() as c:
            if c.execute(refresh).rowcount:
                return False
            inserted = c.execute(
                _INSERT,
                {"household": household, "hash": endpoint_hash, "now": now, **sealed},
            ).first()
            if inserted is not None:
                return True
            c.execute(refresh)  # another worker added it since the refresh above
            return False

    def remove(self, household: str, endpoint: str) -> bool:
        t = self.table
        endpoint_hash = self._hash(endpoint)
        with self.db.write() as c:
            gone = c.execute(
                t.delete().where(t.c.household == household, t.c.endpoint_hash == endpoint_hash)
            ).rowcount
        return bool(gone)

    def prune(self, endpoint: str) -> int:
        """Forget an endpoint the push service says is gone (every household it was on)."""
        t = self.table
        with self.db.write() as c:
            return int(
                c.execute(t.delete().where(t.c.endpoint_hash == self._hash(endpoint))).rowcount
            )

    def subscriptions(self, household: str) -> list[StoredSubscription]:
        """The household's subscriptions, oldest first."""
        t = self.table
        with self.db.read() as c:
            rows = c.execute(
                sa.select(t.c.endpoint_hash, t.c.endpoint, t.c.browser_keys)
                .where(t.c.household == household)
                .order_by(t.c.created_s, t.c.endpoint_hash)
            ).all()
        out = []
        for endpoint_hash, endpoint, keys in rows:
            opened = json.loads(
                self.keyring.open(keys, webpush_context("browser_keys", household, endpoint_hash))
            )
            url = self.keyring.open(endpoint, webpush_context("endpoint", household, endpoint_hash))
            out.append(StoredSubscription(url, opened["p256dh"], opened["auth"]))
        return out


# -- sending ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WebPushResult:
    sent: bool
    gone: bool = False  # the subscription no longer exists (404/410): prune it
    retry: bool = False
    detail: str = ""


class WebPushSender:
    """Sends one encrypted, VAPID-signed push per call (thread-safe: a session per call)."""

    def __init__(
        self,
        key: Callable[[], ec.EllipticCurvePrivateKey],
        subject: str,
        *,
        ttl_s: int = 3600,
    ) -> None:
        self._key = key
        self.subject = subject
        self.ttl_s = int(ttl_s)

    def send(
        self, sub: StoredSubscription, payload: dict[str, Any], timeout_s: float
    ) -> WebPushResult:
        from py_vapid import Vapid02
        from pywebpush import WebPushException, webpush

        origin = "{0.scheme}://{0.netloc}".format(urlsplit(sub.endpoint))
        claims = {"sub": self.subject, "aud": origin, "exp": int(time.time()) + 12 * 3600}
        try:
            response = webpush(
                sub.info(),
                json.dumps(payload, separators=(",", ":")),
                vapid_private_key=Vapid02(private_key=self._key()),
                vapid_claims=claims,
                ttl=self.ttl_s,
                timeout=timeout_s,
                headers={"Urgency": "high"},
            )
        except WebPushException as err:
            status = getattr(err.response, "status_code", None)
            if status in (404, 410):
                return WebPushResult(False, gone=True, detail=f"HTTP {status}: subscription gone")
            retry = status is None or status == 429 or status >= 500
            return WebPushResult(False, retry=retry, detail=f"HTTP {status}: {err.message}"[:200])
        except OSError as err:  # requests' connection errors and timeouts
            return WebPushResult(False, retry=True, detail=f"push service unreachable: {err}"[:200])
        status = getattr(response, "status_code", 0)
        if 200 <= status < 300:
            return WebPushResult(True)
        return WebPushResult(False, retry=status >= 500, detail=f"HTTP {status}")
