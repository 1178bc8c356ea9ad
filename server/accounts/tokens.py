"""The tokens that email links carry: signed with ``itsdangerous`` under sub-keys of
``SECRET_KEY``, timed, and bound to what they may change.

* verification: the user id and their email hash (a link sent for an earlier email is void);
* password reset: the user id and a fingerprint of the current password hash, so a link works
  once (the reset changes the hash) and dies when the password changes otherwise.

A session's identity (:meth:`Tokens.session_id`) is bound the same way: changing the password
signs out every other session.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

from itsdangerous import BadData, SignatureExpired, URLSafeTimedSerializer

from server.accounts.errors import InvalidToken

__all__ = ["Tokens"]


class Tokens:
    def __init__(self, key: bytes, *, verify_ttl_s: float, reset_ttl_s: float) -> None:
        self.key = key
        self.verify_ttl_s = verify_ttl_s
        self.reset_ttl_s = reset_ttl_s
        self._verify = URLSafeTimedSerializer(key, salt="gridlight-verify-email")
        self._reset = URLSafeTimedSerializer(key, salt="gridlight-reset-password")

    def fingerprint(self, value: str) -> str:
        """A short keyed digest of ``value`` (a password hash), safe to put in a token."""
        return hmac.new(self.key, value.encode(), hashlib.sha256).hexdigest()[:20]

    def verification(self, user_id: int, email_hash: str) -> str:
        return self._verify.dumps({"u": user_id, "e": email_hash[:20]})

    def read_verification(self, token: str) -> tuple[int, str]:
        data = _loads(self._verify, token, self.verify_ttl_s, "verification")
        return int(data["u"]), str(data["e"])

    def reset(self, user_id: int, password_hash: str) -> str:
        return self._reset.dumps({"u": user_id, "p": self.fingerprint(password_hash)})

    def read_reset(self, token: str) -> tuple[int, str]:
        data = _loads(self._reset, token, self.reset_ttl_s, "password-reset")
        return int(data["u"]), str(data["p"])

    def session_id(self, user_id: int, password_hash: str) -> str:
        """Flask-Login's user id: ``<id>:<fingerprint of the password hash>``."""
        return f"{user_id}:{self.fingerprint(password_hash)}"


def _loads(serializer: URLSafeTimedSerializer, token: str, ttl_s: float, what: str) -> Any:
    try:
        data = serializer.loads(token, max_age=ttl_s)
    except SignatureExpired:
        raise InvalidToken(f"this {what} link has expired: ask for a new one") from None
    except BadData:
        raise InvalidToken(f"this is not a valid {what} token (copy the whole link)") from None
    if not isinstance(data, dict) or "u" not in data:
        raise InvalidToken(f"this is not a valid {what} token")
    return data
