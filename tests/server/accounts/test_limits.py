"""Rate limits (Flask-Limiter): brute force of sign-in reaches 429 with Retry-After, counted
across workers in Redis; failed key checks and the token endpoint are limited too, while good
keys are never counted."""

from __future__ import annotations

from typing import Any

from tests.server.accounts.conftest import PASSWORD, create_household, make_app, person


def _stop(*apps: Any) -> None:
    for app in apps:
        app.extensions["gridlight"].stop()


def _rate_limited(r: Any) -> int:
    """The Retry-After [s] of a 429 rate_limited answer (checked)."""
    assert r.status_code == 429, (r.status_code, r.json)
    assert r.json["error"]["code"] == "rate_limited"
    retry_s = int(r.headers["Retry-After"])
    assert 1 <= retry_s <= 60
    return retry_s


def test_brute_force_sign_in_reaches_429_with_retry_after(
    server_data_dir, stats_cache_dir, smtp
) -> None:  # noqa: ANN001
    app = make_app(server_data_dir, stats_cache_dir, smtp, RATELIMIT_SIGN_IN="5 per minute")
    try:
        person(app, smtp, "ada@example.org")  # one sign-in spent
        client = app.test_client()
        wrong = {"email": "ada@example.org", "password": "not the password"}
        codes = [client.post("/api/v1/session", json=wrong).status_code for _ in range(4)]
        assert codes == [401] * 4
        r = client.post("/api/v1/session", json=wrong)
        _rate_limited(r)
        # the right password does not get through either until the window ends
        r = client.post("/api/v1/session", json={"email": "ada@example.org", "password": PASSWORD})
        _rate_limited(r)
        # another address is not held up (the limit is per client address)
        other = app.test_client()
        r = other.post(
            "/api/v1/session",
            json={"email": "ada@example.org", "password": PASSWORD},
            environ_base={"REMOTE_ADDR": "192.0.2.7"},
        )
        assert r.status_code == 200
    finally:
        _stop(app)


def test_workers_share_the_counts_in_redis(
    server_data_dir, stats_cache_dir, smtp, redis_server, tmp_path
) -> None:  # noqa: ANN001
    limits = {"RATELIMIT_STORAGE_URI": redis_server.url, "RATELIMIT_PASSWORD_RESET": "4 per minute"}
    one = make_app(server_data_dir, stats_cache_dir, smtp, **limits)
    two = make_app(server_data_dir, stats_cache_dir, smtp, **limits)
    try:
        body = {"email": "someone@example.org"}
        codes = [
            (one if i % 2 else two)
            .test_client()
            .post("/api/v1/password-reset", json=body)
            .status_code
            for i in range(4)
        ]
        assert codes == [202] * 4
        _rate_limited(one.test_client().post("/api/v1/password-reset", json=body))
        _rate_limited(two.test_client().post("/api/v1/password-reset", json=body))
    finally:
        _stop(one, two)


def test_failed_key_checks_are_limited_and_good_keys_are_not(
    server_data_dir, stats_cache_dir, smtp
) -> None:  # noqa: ANN001
    app = make_app(server_data_dir, stats_cache_dir, smtp, RATELIMIT_KEY_FAILURES="3 per minute")
    try:
        owner = person(app, smtp, "ada@example.org")
        key = create_household(owner, "H1")
        other_key = create_household(owner, "H2")
        client = app.test_client()
        good = {"Authorization": f"Bearer {key}"}
        for _ in range(10):  # good keys are never counted
            assert client.get("/api/v1/households/H1/readings", headers=good).status_code == 200
        guessed = {"Authorization": "Bearer gl_guessed"}
        codes = [
            client.get("/api/v1/households/H1/readings", headers=guessed).status_code
            for _ in range(3)
        ]
        assert codes == [401] * 3
        _rate_limited(client.get("/api/v1/households/H1/readings", headers=guessed))
        # now this address is held up for H1 whatever it sends, its right key included
        _rate_limited(client.get("/api/v1/households/H1/readings", headers=good))
        # ...but not for another household, nor for OAuth tokens (counted on their own)
        r = client.get(
            "/api/v1/households/H2/readings", headers={"Authorization": f"Bearer {other_key}"}
        )
        assert r.status_code == 200
        r = client.get("/api/v1/households/H1/readings", headers={"Authorization": "Bearer glat_x"})
        assert r.status_code == 401 and r.json["error"]["code"] == "invalid_token"
        # a meter elsewhere keeps sending
        r = client.get(
            "/api/v1/households/H1/readings",
            headers=good,
            environ_base={"REMOTE_ADDR": "192.0.2.9"},
        )
        assert r.status_code == 200
    finally:
        _stop(app)


def test_token_endpoint_is_limited(server_data_dir, stats_cache_dir, smtp) -> None:  # noqa: ANN001
    app = make_app(server_data_dir, stats_cache_dir, smtp, RATELIMIT_TOKEN="3 per minute")
    try:
        client = app.test_client()
        form = {"grant_type": "authorization_code", "code": "guess", "client_id": "nobody"}
        codes = [client.post("/oauth/token", data=form).status_code for _ in range(3)]
        assert codes == [400] * 3
        _rate_limited(client.post("/oauth/token", data=form))
    finally:
        _stop(app)


def test_behind_a_trusted_proxy_the_forwarded_address_counts(
    server_data_dir, stats_cache_dir, smtp
) -> None:  # noqa: ANN001
    app = make_app(
        server_data_dir,
        stats_cache_dir,
        smtp,
        RATELIMIT_SIGN_IN="2 per minute",
        RATELIMIT_TRUSTED_PROXIES=1,
    )
    try:
        client = app.test_client()
        wrong = {"email": "x@example.org", "password": "nope"}

        def attempt(forwarded: str) -> int:
            return client.post(
                "/api/v1/session", json=wrong, headers={"X-Forwarded-For": forwarded}
            ).status_code

        assert [attempt("198.51.100.1"), attempt("198.51.100.1")] == [401, 401]
        assert attempt("198.51.100.1") == 429
        # a spoofed first hop does not help: the proxy's own entry (the last) is what counts
        assert attempt("203.0.113.5, 198.51.100.1") == 429
        assert attempt("198.51.100.2") == 401
    finally:
        _stop(app)
