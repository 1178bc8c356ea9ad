"""A household's API keys over HTTP, for its owners (the dashboard's keys view).

=======================================================  ========================================
``GET    /api/v1/households/{h}/keys``                   its live keys: id, label, created, last
                                                         used (never the secret)
``POST   /api/v1/households/{h}/keys``                   a new key, ``{"label": …}``; the secret
                                                         is in this answer only
``DELETE /api/v1/households/{h}/keys/{key_id}``          revoke it
=======================================================  ========================================

Keys are a household's strongest credential (a key reads everything and writes as a member
would), so only its owners manage them, signed in with the session cookie (writes with
``X-CSRF-Token``) or by an OAuth access token with the ``admin`` scope; a key cannot mint or
revoke keys. Each creation and revocation is in the audit log
(``key_created``, ``key_revoked``, written in the same transaction as the change). Keys live in
the installation's database (:class:`server.storage.KeyStore`) and every check reads the row, so
a revoked key is refused at once by every worker and host.
"""

from __future__ import annotations

from typing import Annotated, Any

from flask import Blueprint, jsonify, request
from pydantic import ConfigDict, Field

from generator.times import format_ts
from server.accounts.views import NAME_PATTERN, _ext, _role_in, _user
from server.api.params import json_body
from server.errors import NotFound, UnknownHousehold
from server.services import state
from server.storage.keys import LABEL_MAX, KeyInfo, RegistryError
from server.storage.keys import key_id as id_of
from server.validation import Body, expect, parse

__all__ = ["KeyCreate", "UnknownKey", "blueprint"]


class UnknownKey(NotFound):
    """No live key of this household has that id (never issued, revoked, or another's)."""

    code = "unknown_key"


class KeyCreate(Body):
    """A new API key of the household; ``label`` says what it is for."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"label": "Kitchen meter"}]})

    label: Annotated[
        str | None,
        Field(
            default=None,
            min_length=1,
            max_length=LABEL_MAX,
            pattern=NAME_PATTERN,
            description="what the key is for, shown in the list",
            examples=["Kitchen meter"],
        ),
        expect(f"a label of 1 to {LABEL_MAX} characters, without control characters"),
    ] = None


blueprint = Blueprint("account_keys", __name__, url_prefix="/api/v1")


def _key_json(info: KeyInfo) -> dict[str, Any]:
    return {
        "key_id": info.key_id,
        "label": info.label,
        "created": format_ts(info.created_s),
        "last_used": None if info.last_used_s is None else format_ts(info.last_used_s),
    }


def _registered(household: str) -> None:
    if state().keys.get(household) is None:
        raise UnknownHousehold(
            f"household {household!r} is not a live household: only registered households have keys"
        )


@blueprint.get("/households/<household>/keys")
def list_keys(household: str):  # noqa: ANN201
    user = _user(scope="admin")
    _role_in(household, user, ("owner",), "list the API keys of")
    return jsonify(
        {"household": household, "keys": [_key_json(k) for k in state().keys.keys(household)]}
    )


@blueprint.post("/households/<household>/keys")
def create_key(household: str):  # noqa: ANN201
    ext = _ext()
    user = _user(write=True, scope="admin")
    _role_in(household, user, ("owner",), "create API keys for")
    body = parse(KeyCreate, json_body() if request.get_data() else {})
    _registered(household)

    def audit(conn: Any, key_id: str) -> None:
        ext.audit.record(
            "key_created",
            household=household,
            user_id=user.id,
            detail={"key_id": key_id, "label": body.label},
            conn=conn,
        )

    keys = state().keys
    try:
        key = keys.create_key(household, label=body.label, then=audit)
    except RegistryError as err:
        raise UnknownHousehold(str(err)) from None
    info = next(k for k in keys.keys(household) if k.key_id == id_of(key))
    return jsonify({"household": household, **_key_json(info), "key": key}), 201


@blueprint.delete("/households/<household>/keys/<key_id>")
def revoke_key(household: str, key_id: str):  # noqa: ANN201
    ext = _ext()
    user = _user(write=True, scope="admin")
    _role_in(household, user, ("owner",), "revoke API keys of")

    def audit(conn: Any) -> None:
        ext.audit.record(
            "key_revoked",
            household=household,
            user_id=user.id,
            detail={"key_id": key_id},
            conn=conn,
        )

    if not state().keys.revoke_id(household, key_id, then=audit):
        raise UnknownKey(
            f"household {household!r} has no live key with the id {key_id[:40]!r} "
            "(GET …/keys lists them)"
        )
    return "", 204
