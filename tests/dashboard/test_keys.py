"""A household's API keys over HTTP (``/api/v1/households/{h}/keys``), as the dashboard's keys
view uses them: owners list (never a secret), create (the secret once) and revoke (refused at
once, by every worker sharing the database); everyone else is refused; each change is audited."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask

from server.storage import KeyStore, command_database
from server.storage.keys import LAST_USED_RESOLUTION_S
from tests.dashboard.conftest import accounts_config
from tests.server.accounts.conftest import create_household, person

BASE_URL = {"ACCOUNTS_BASE_URL": "https://gridlight.test"}  # the accounts helpers read its links


@pytest.fixture
def app(make_app: Callable[..., Flask], smtp) -> Flask:  # noqa: ANN001
    return make_app(**accounts_config(smtp), **BASE_URL)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _reads(app: Flask, household: str, key: str) -> int:
    """The status of a key-checked request of ``household`` with ``key`` (its alert settings)."""
    r = app.test_client().get(
        f"/api/v1/households/{household}/alert-settings", headers=_bearer(key)
    )
    return r.status_code


def test_owner_creates_lists_and_revokes_a_key(app, smtp):  # noqa: ANN001
    owner = person(app, smtp, "owner@example.org", "Olive")
    first = create_household(owner, "K1")
    url = "/api/v1/households/K1/keys"

    r = owner.write("POST", url, json={"label": "Kitchen meter"})
    assert r.status_code == 201, r.json
    made = r.json
    key = made["key"]
    assert key.startswith(f"gl_{made['key_id']}_") and made["label"] == "Kitchen meter"
    assert made["household"] == "K1" and made["last_used"] is None and made["created"]
    assert _reads(app, "K1", key) == 200

    listed = owner.get(url)
    assert listed.status_code == 200
    ids = [k["key_id"] for k in listed.json["keys"]]
    assert sorted(ids) == sorted([first.split("_")[1], made["key_id"]])  # the meter key too
    body = listed.get_data(as_text=True)
    assert key.split("_", 2)[2] not in body and first.split("_", 2)[2] not in body
    assert "secret" not in body
    used = next(k for k in listed.json["keys"] if k["key_id"] == made["key_id"])
    assert used["last_used"] is not None and used["label"] == "Kitchen meter"

    r = owner.write("DELETE", f"{url}/{made['key_id']}")
    assert r.status_code == 204
    assert _reads(app, "K1", key) == 401  # at once
    assert _reads(app, "K1", first) == 200  # the other key is untouched
    assert [k["key_id"] for k in owner.get(url).json["keys"]] == [first.split("_")[1]]
    again = owner.write("DELETE", f"{url}/{made['key_id']}")
    assert again.status_code == 404 and again.json["error"]["code"] == "unknown_key"

    audit = owner.get("/api/v1/households/K1/audit").json["entries"]
    events = [(e["event"], e["detail"].get("key_id")) for e in audit]
    assert ("key_created", made["key_id"]) in events and ("key_revoked", made["key_id"]) in events
    assert all(e["user_id"] == owner.user["id"] for e in audit if e["event"].startswith("key_"))


def test_a_key_without_a_label_and_with_an_empty_body(app, smtp):  # noqa: ANN001
    owner = person(app, smtp, "o2@example.org")
    create_household(owner, "K2")
    r = owner.client.post("/api/v1/households/K2/keys", headers=owner.headers())
    assert r.status_code == 201 and r.json["label"] is None
    r = owner.write("POST", "/api/v1/households/K2/keys", json={})
    assert r.status_code == 201 and r.json["label"] is None


def test_revoked_on_one_worker_is_refused_by_another_at_once(app, make_app, smtp):  # noqa: ANN001
    """Two apps on one database (two workers or hosts): no cache keeps a revoked key alive."""
    owner = person(app, smtp, "o3@example.org")
    create_household(owner, "K3")
    other = make_app(**accounts_config(smtp), **BASE_URL)
    made = owner.write("POST", "/api/v1/households/K3/keys", json={"label": "script"}).json
    assert _reads(other, "K3", made["key"]) == 200
    assert owner.write("DELETE", f"/api/v1/households/K3/keys/{made['key_id']}").status_code == 204
    r = other.test_client().get(
        "/api/v1/households/K3/alert-settings", headers=_bearer(made["key"])
    )
    assert r.status_code == 401 and r.json["error"]["code"] == "unauthorized"
    assert "not a live key" in r.json["error"]["message"]


def test_only_owners_signed_in_manage_keys(app, smtp):  # noqa: ANN001
    owner = person(app, smtp, "o4@example.org")
    key = create_household(owner, "K4")
    url = "/api/v1/households/K4/keys"
    key_id = key.split("_")[1]
    for role in ("member", "viewer"):
        who = person(app, smtp, f"{role}@example.org", role)
        assert (
            owner.write(
                "POST", "/api/v1/households/K4/members", json={"email": who.email, "role": role}
            ).status_code
            == 201
        )
        for method, path in (("GET", url), ("POST", url), ("DELETE", f"{url}/{key_id}")):
            r = who.write(method, path, json={} if method == "POST" else None)
            assert r.status_code == 403, (role, method, r.json)
            assert "only its owners" in r.json["error"]["message"]
            assert f"you are a {role}" in r.json["error"]["message"]
    stranger = person(app, smtp, "stranger@example.org")
    assert stranger.get(url).status_code == 403

    anonymous = app.test_client()
    r = anonymous.get(url)
    assert r.status_code == 401 and r.json["error"]["code"] == "not_signed_in"
    # a key is not an owner: it cannot list, mint or revoke keys
    assert anonymous.get(url, headers=_bearer(key)).status_code == 401
    assert anonymous.post(url, json={}, headers=_bearer(key)).status_code == 401
    assert anonymous.delete(f"{url}/{key_id}", headers=_bearer(key)).status_code == 401
    # a cookie-authenticated write needs the session's CSRF token
    r = owner.client.post(url, json={"label": "x"})
    assert r.status_code == 403 and r.json["error"]["code"] == "csrf_failed"
    r = owner.client.delete(f"{url}/{key_id}")
    assert r.status_code == 403 and r.json["error"]["code"] == "csrf_failed"
    assert _reads(app, "K4", key) == 200  # nothing was revoked


def test_bad_requests_are_named(app, smtp):  # noqa: ANN001
    owner = person(app, smtp, "o5@example.org")
    create_household(owner, "K5")
    other = person(app, smtp, "o6@example.org")
    other_key = create_household(other, "K6")

    r = owner.write("POST", "/api/v1/households/K5/keys", json={"label": "x" * 101})
    assert r.status_code == 400 and r.json["error"]["message"].startswith("label:")
    r = owner.write("POST", "/api/v1/households/K5/keys", json={"label": "a\nb"})
    assert r.status_code == 400 and "control characters" in r.json["error"]["message"]
    r = owner.write("POST", "/api/v1/households/K5/keys", json={"lable": "typo"})
    assert r.status_code == 400 and "lable" in r.json["error"]["message"]
    r = owner.write("POST", "/api/v1/households/K5/keys", data="not json")
    assert r.status_code == 400 and r.json["error"]["code"] == "invalid_json"
    r = owner.get("/api/v1/households/NOPE/keys")
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_household"

    # another household's key id is not this household's: 404, and the key stays live
    r = owner.write("DELETE", f"/api/v1/households/K5/keys/{other_key.split('_')[1]}")
    assert r.status_code == 404 and r.json["error"]["code"] == "unknown_key"
    assert _reads(app, "K6", other_key) == 200


def test_last_used_is_written_at_most_once_a_minute(app) -> None:  # noqa: ANN001
    """The check writes ``last_used_s`` when it is older than the resolution (clock injected)."""
    now = [1_800_000_000.0]
    db = command_database(app.config["DATA_DIR"])
    try:
        keys = KeyStore(db, clock=lambda: now[0])
        _, key = keys.add_household("K7", ["Overall"])
        key_id = key.split("_")[1]
        assert keys.keys("K7")[0].last_used_s is None
        assert keys.check("K7", key)
        assert keys.keys("K7")[0].last_used_s == 1_800_000_000
        now[0] += LAST_USED_RESOLUTION_S - 1
        assert keys.check("K7", key)
        assert keys.keys("K7")[0].last_used_s == 1_800_000_000  # within the minute: no write
        now[0] += 1
        assert keys.check("K7", key)
        assert keys.keys("K7")[0].last_used_s == 1_800_000_000 + LAST_USED_RESOLUTION_S
        assert not keys.check("K7", key + "x")  # a wrong secret is not a use
        assert keys.keys("K7")[0].last_used_s == 1_800_000_000 + LAST_USED_RESOLUTION_S
        assert keys.revoke_id("K7", key_id) and not keys.revoke_id("K7", key_id)
        assert keys.keys("K7") == [] and keys.keys("K7", revoked=True)[0].revoked_s is not None
    finally:
        db.dispose()
