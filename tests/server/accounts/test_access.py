"""Who may do what, over a few representative routes: the household's owner, member and viewer,
another household's owner, a key of the household, and no credentials.

(OAuth scopes over every operation of the OpenAPI document that takes tokens: test_scopes.py;
the full role matrix over every route is a later step of issue #15.)"""

from __future__ import annotations

import pytest

from tests.server.accounts.conftest import create_household, person

H = "H1"
#: (method, path, body) → expected status per principal
ROUTES = {
    "read stats": ("GET", f"/api/v1/households/{H}/stats?interval=5", None),
    "read readings": ("GET", f"/api/v1/households/{H}/readings", None),
    "read alerts": ("GET", f"/api/v1/households/{H}/alerts", None),
    "write alert settings": ("PUT", f"/api/v1/households/{H}/alert-settings", {}),
    "list members": ("GET", f"/api/v1/households/{H}/members", None),
    "invite": (
        "POST",
        f"/api/v1/households/{H}/members",
        {"email": "x@example.org", "role": "viewer"},
    ),
    "audit": ("GET", f"/api/v1/households/{H}/audit", None),
}
#: 409: stats need more history than a new household has (the access check passed);
#: 404 for an invite: the access check passed and x@example.org has no account
EXPECTED = {
    "owner": {
        "read stats": 409,
        "read readings": 200,
        "read alerts": 200,
        "write alert settings": 200,
        "list members": 200,
        "invite": 404,
        "audit": 200,
    },
    "member": {
        "read stats": 409,
        "read readings": 200,
        "read alerts": 200,
        "write alert settings": 200,
        "list members": 200,
        "invite": 403,
        "audit": 403,
    },
    "viewer": {
        "read stats": 409,
        "read readings": 200,
        "read alerts": 200,
        "write alert settings": 403,
        "list members": 200,
        "invite": 403,
        "audit": 403,
    },
    "stranger": {
        "read stats": 403,
        "read readings": 403,
        "read alerts": 403,
        "write alert settings": 403,
        "list members": 403,
        "invite": 403,
        "audit": 403,
    },
    "key": {
        "read stats": 409,
        "read readings": 200,
        "read alerts": 200,
        "write alert settings": 200,
        "list members": 401,
        "invite": 401,
        "audit": 401,
    },
    "nobody": {
        "read stats": 401,
        "read readings": 401,
        "read alerts": 401,
        "write alert settings": 401,
        "list members": 401,
        "invite": 401,
        "audit": 401,
    },
}


@pytest.fixture
def principals(app, smtp):  # noqa: ANN001, ANN201
    owner = person(app, smtp, "owner@example.org", "Owner")
    key = create_household(owner, H)
    out = {"owner": owner}
    for role in ("member", "viewer"):
        out[role] = person(app, smtp, f"{role}@example.org", role.title())
        r = owner.write(
            "POST",
            f"/api/v1/households/{H}/members",
            json={"email": f"{role}@example.org", "role": role},
        )
        assert r.status_code == 201
    out["stranger"] = person(app, smtp, "stranger@example.org", "Stranger")
    create_household(out["stranger"], "H9")  # an owner, of another household
    return out, key


@pytest.mark.parametrize("who", list(EXPECTED))
def test_access_matrix(app, principals, who: str) -> None:  # noqa: ANN001
    people, key = principals
    got = {}
    for name, (method, path, body) in ROUTES.items():
        if who in people:
            r = (
                people[who].write(method, path, json=body)
                if method != "GET"
                else people[who].get(path)
            )
        else:
            headers = {"Authorization": f"Bearer {key}"} if who == "key" else {}
            r = app.test_client().open(path, method=method, json=body, headers=headers)
        got[name] = r.status_code
        if r.status_code == 401 and path.endswith(("stats?interval=5", "readings", "alerts")):
            assert r.headers["WWW-Authenticate"] == 'Bearer realm="gridlight"'
    assert got == EXPECTED[who]


def test_a_capability_granted_to_a_user_ends_with_their_role(app, principals) -> None:  # noqa: ANN001
    """The seed's stream set-up remembers who made it: a user's set-up stops working when the
    user loses their role, as a key's does when the key is revoked."""
    from server.auth import Unauthorized, require_still_readable

    people, _ = principals
    viewer, owner = people["viewer"], people["owner"]
    actor = f"user:{viewer.user['id']}"
    with app.test_request_context():
        require_still_readable(H, actor)
    r = owner.write("DELETE", f"/api/v1/households/{H}/members/{viewer.user['id']}")
    assert r.status_code == 204
    with app.test_request_context(), pytest.raises(Unauthorized, match="role removed"):
        require_still_readable(H, actor)
