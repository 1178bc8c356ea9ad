"""The OAuth store on both backends: only hashes kept; a code works once and not after it
expires; a refresh token rotates once; families, users and single tokens are revoked; tokens
expire by the injected clock; dead rows are purged."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from server.accounts.oauth.store import OAuthStore, digest
from server.accounts.users import UserStore
from server.storage.crypto import Keyring, MasterKey
from server.storage.database import open_database


class Clock:
    def __init__(self, now_s: float) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def db(database_url: str):  # noqa: ANN201
    db = open_database(database_url)
    yield db
    db.dispose()


def _token(n: int, *, refresh: bool = True) -> dict:
    out = {"access_token": f"glat_{n}", "expires_in": 3600, "scope": "read", "token_type": "Bearer"}
    if refresh:
        out["refresh_token"] = f"glrt_{n}"
    return out


def test_codes_work_once_and_expire(db) -> None:  # noqa: ANN001
    clock = Clock(1_000_000)
    store = OAuthStore(db, clock=clock)
    user = UserStore(db, b"k" * 32, Keyring.load(db, MasterKey.generate())).create(
        "ada@example.org", "Ada", "hash"
    )
    client, secret = store.add_client("App", ["https://app.example/cb"], public=False, scope="read")
    assert secret is not None and client.check_client_secret(secret)
    assert not client.check_client_secret(secret + "x") and client.secret_hash == digest(secret)
    kw = {
        "client_id": client.client_id,
        "user_id": user.id,
        "redirect_uri": "https://app.example/cb",
        "scope": "read",
        "code_challenge": None,
        "code_challenge_method": None,
        "ttl_s": 600,
    }
    store.save_code("code-1", **kw)
    store.save_code("code-2", **kw)
    with db.read() as c:
        stored = {r[0] for r in c.execute(sa.text("SELECT code_hash FROM oauth_codes"))}
    assert stored == {digest("code-1"), digest("code-2")}
    assert store.take_code("code-1", "another-client") is None  # bound to its client
    code = store.take_code("code-1", client.client_id)
    assert code is not None and code.user_id == user.id and code.get_scope() == "read"
    assert store.take_code("code-1", client.client_id) is None  # once
    clock.now_s += 601
    assert store.take_code("code-2", client.client_id) is None  # expired
    store.save_code("code-3", **kw)  # purges the expired ones
    with db.read() as c:
        assert c.execute(sa.text("SELECT count(*) FROM oauth_codes")).scalar() == 1


def test_rotation_families_and_expiry(db) -> None:  # noqa: ANN001
    clock = Clock(1_000_000)
    store = OAuthStore(db, clock=clock)
    users = UserStore(db, b"k" * 32, Keyring.load(db, MasterKey.generate()))
    ada = users.create("ada@example.org", "Ada", "hash")
    bob = users.create("bob@example.org", "Bob", "hash")
    client, _ = store.add_client("App", ["org.app:/cb"], public=True)
    assert client.public and client.check_endpoint_auth_method("none", "token")
    assert not client.check_endpoint_auth_method("client_secret_basic", "token")
    assert client.get_allowed_scope("read admin everything") == "read admin"
    assert client.get_allowed_scope(None) == "read"

    first = store.save_token(
        _token(1), client_id=client.client_id, user_id=ada.id, family=None, refresh_ttl_s=86_400
    )
    one = store.by_refresh("glrt_1")
    assert one is not None and one.id == first and one.family == first and one.refresh_usable()
    assert store.by_access("glat_1") == one and store.by_access("glrt_1") is None
    # rotation: the first use wins, a second (concurrent or replayed) loses
    second = store.save_token(
        _token(2),
        client_id=client.client_id,
        user_id=ada.id,
        family=one.family,
        refresh_ttl_s=86_400,
    )
    assert store.rotate(one.id) and not store.rotate(one.id)
    used = store.by_refresh("glrt_1")
    assert used is not None and used.is_revoked() and not used.refresh_usable()
    two = store.by_access("glat_2")
    assert two is not None and two.family == first and not two.is_revoked()
    # another chain and another user are not touched by revoking this family
    store.save_token(
        _token(3), client_id=client.client_id, user_id=ada.id, family=None, refresh_ttl_s=86_400
    )
    store.save_token(
        _token(4), client_id=client.client_id, user_id=bob.id, family=None, refresh_ttl_s=86_400
    )
    assert store.revoke_family(first) == 1  # the second token (the first was revoked already)
    assert store.by_access("glat_2").is_revoked() and not store.by_access("glat_2").refresh_usable()
    assert not store.by_access("glat_3").is_revoked()
    # a single access token; then every token of a user (a password reset)
    store.revoke(store.by_access("glat_3").id)
    three = store.by_access("glat_3")
    assert three.is_revoked() and three.refresh_usable()  # RFC 7009: the refresh token stays
    assert store.revoke_user(ada.id) == 1
    assert not store.by_access("glat_3").refresh_usable()
    assert not store.by_access("glat_4").is_revoked()
    # expiry by the clock: the access token after an hour, the refresh token after its ttl
    clock.now_s += 3600
    four = store.by_access("glat_4")
    assert four.is_expired() and four.refresh_usable() and four.get_expires_in() == 3600
    clock.now_s += 86_400
    assert not store.by_access("glat_4").refresh_usable()
    # rows whose access and refresh tokens both expired are purged at the next issue
    store.save_token(
        _token(5, refresh=False),
        client_id=client.client_id,
        user_id=bob.id,
        family=None,
        refresh_ttl_s=86_400,
    )
    with db.read() as c:
        left = c.execute(sa.text("SELECT access_hash FROM oauth_tokens")).scalars().all()
    assert left == [digest("glat_5")]
    assert second != first
    # a client removed takes its tokens
    assert store.remove_client(client.client_id) and store.by_access("glat_5") is None
    assert not store.remove_client(client.client_id)
