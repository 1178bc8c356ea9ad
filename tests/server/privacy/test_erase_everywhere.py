"""Erasure reaches every worker: two apps (two workers, or two hosts) sharing one real Redis and
one database. A household erased through one stops being served and accepted from the other's
caches within a bounded wait (its open stream ends; its ingest lookup, statistics and history
are dropped), and its compatibility set-ups are gone from Redis. Without Redis (one process) the
erasure clears the caches directly."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import redis
import requests
from werkzeug.serving import make_server

from server.compat.setups import RedisSetups, Setup
from server.households.removal import STREAM_KEY, Removals
from tests.server.accounts.conftest import create_household, make_app, person
from tests.wait import wait_for

BOUND_S = 10.0
LIVE = {"LIVE_STATS_MIN_S": 60, "LIVE_HISTORY_REFRESH_S": 3600}


def _post_history(client, household: str, key: str, now: int) -> None:  # noqa: ANN001
    readings = [
        {"ts": now - 130 + i, "power_kw": {"Overall": 1.0 + (i % 7) / 10, "Geyser": i % 2 * 2.0}}
        for i in range(120)
    ]
    r = client.post(
        f"/api/v1/households/{household}/readings",
        json={"readings": readings},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert r.status_code == 200, r.json


def _two_households(app, smtp) -> tuple:  # noqa: ANN001
    """Ada owns H1 and Bob H2, each with two minutes of readings: (ada, H1's key, H2's key,
    the time the readings end at)."""
    ada = person(app, smtp, "ada@example.org", "Ada")
    bob = person(app, smtp, "bob@example.org", "Bob")
    key = create_household(ada, "H1")
    other_key = create_household(bob, "H2")
    now = int(time.time())
    _post_history(app.test_client(), "H1", key, now)
    _post_history(app.test_client(), "H2", other_key, now)
    return ada, key, other_key, now


def _setup_keys(r_client: redis.Redis) -> dict[str, bytes]:
    return {k.decode(): r_client.get(k) for k in r_client.scan_iter(match="gridlight:setup:*")}


def test_erasure_on_one_worker_clears_the_others_caches_and_the_redis_setups(
    server_data_dir: Path,
    tmp_path: Path,
    smtp,
    redis_server,  # noqa: ANN001
) -> None:
    stats_dir = tmp_path / "stats"
    config = {"REDIS_URL": redis_server.url, **LIVE}
    one = make_app(server_data_dir, stats_dir, smtp, **config)
    two_stats_dir = tmp_path / "stats-two"  # worker two's own files, as on another host
    two = make_app(server_data_dir, two_stats_dir, smtp, **config)
    two_gl = two.extensions["gridlight"]
    two_gl.start()  # its removals listener among its jobs
    stream_thread: threading.Thread | None = None
    servers: list = []
    try:
        ada, key, other_key, now = _two_households(one, smtp)
        auth = {"Authorization": f"Bearer {key}"}

        # the seed's set-ups, in Redis: two of H1, one of H2
        for household, secret in (("H1", key), ("H1", key), ("H2", other_key)):
            r = one.test_client().post(
                "/stream_setup",
                json={"household": household, "interval": 5},
                headers={"Authorization": f"Bearer {secret}"},
            )
            assert r.status_code == 200, r.json
        r_client = redis.Redis.from_url(redis_server.url)
        assert sum(b'"H1"' in v for v in _setup_keys(r_client).values()) == 2

        # worker two holds H1 in its caches: ingest's lookup (kept an hour here, so only the
        # removal can drop it), the live history and statistics, and an open stream
        ingestor = two.extensions["gridlight_ingest"].ingestor
        ingestor.lookup_ttl_s = 3600.0
        assert ingestor.channels_of("H1") is not None
        client = two.test_client()
        r = client.get("/api/v1/households/H1/stats?interval=5", headers=auth)
        assert r.status_code == 200, r.json
        assert any(k.household == "H1" for k in two_gl.stats.cache._memory)
        assert list(two_stats_dir.glob("*_H1_*"))
        assert "H1" in two.extensions["gridlight_ingest"].pipeline.live._history
        # the stream over real HTTP (worker two served on loopback), read in a thread
        server = make_server("127.0.0.1", 0, two, threaded=True)
        servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        stream = requests.get(
            f"http://127.0.0.1:{server.server_port}/api/v1/households/H1/stream?interval=5",
            headers=auth,
            stream=True,
            timeout=(5, 60),
        )
        assert stream.status_code == 200
        stream_thread = threading.Thread(
            target=lambda: list(stream.iter_content(chunk_size=None)), daemon=True
        )
        stream_thread.start()
        wait_for(
            lambda: two_gl.hub.channels_of("H1"), what="worker two's H1 channel", timeout_s=BOUND_S
        )

        # erased through worker one
        r = ada.write("DELETE", "/api/v1/me")
        assert r.status_code == 200 and r.json["households_erased"] == ["H1"], r.json

        # worker two: the stream ends, the household is no longer accepted nor held
        wait_for(
            lambda: not stream_thread.is_alive(),
            what="worker two's H1 stream to end",
            timeout_s=BOUND_S,
        )
        wait_for(
            lambda: ingestor.channels_of("H1") is None, what="the ingest lookup", timeout_s=BOUND_S
        )
        assert not two_gl.hub.channels_of("H1") and "H1" not in two_gl.hub._readers
        assert not any(k.household == "H1" for k in two_gl.stats.cache._memory)
        assert "H1" not in two.extensions["gridlight_ingest"].pipeline.live._history
        assert not list(two_stats_dir.glob("*_H1_*"))
        assert two_gl.removals.received >= 1
        # H2 is untouched in the same caches
        assert ingestor.channels_of("H2") is not None
        # the set-ups of H1 are gone from Redis; H2's stays
        left = _setup_keys(r_client)
        assert [v for v in left.values() if b'"H1"' in v] == []
        assert sum(b'"H2"' in v for v in left.values()) == 1
        # and the erased household's readings are refused by worker two
        r = client.post(
            "/api/v1/households/H1/readings",
            json={"readings": [{"ts": now, "power_kw": {"Overall": 1.0}}]},
            headers=auth,
        )
        assert r.status_code in (401, 404), r.json
    finally:
        for server in servers:
            server.shutdown()
        two_gl.stop()
        one.extensions["gridlight"].stop()
        if stream_thread is not None:
            stream_thread.join(timeout=BOUND_S)


def test_without_redis_the_erasure_clears_this_process_caches(
    server_data_dir: Path,
    tmp_path: Path,
    smtp,  # noqa: ANN001
) -> None:
    app = make_app(server_data_dir, tmp_path / "stats", smtp, **LIVE)
    try:
        ada = person(app, smtp, "ada@example.org", "Ada")
        create_household(ada, "H1")
        ingestor = app.extensions["gridlight_ingest"].ingestor
        ingestor.lookup_ttl_s = 3600.0
        assert ingestor.channels_of("H1") is not None
        assert ada.write("DELETE", "/api/v1/me").status_code == 200
        assert ingestor.channels_of("H1") is None  # at once: no other process to tell
    finally:
        app.extensions["gridlight"].stop()


def test_a_listener_sees_other_processes_removals_and_knows_when_some_were_trimmed(
    redis_server,  # noqa: ANN001
) -> None:
    """Removals announced elsewhere reach a listener; one away from Redis while removals it
    never read were trimmed cannot know which households went: it forgets them all (``None``)."""
    listener = Removals(redis_server.url, block_s=0.2)
    forgotten: list[str | None] = []
    listener.on_removed("test", forgotten.append)
    writer = Removals(redis_server.url)
    writer.on_removed("own", forgotten.append)
    assert listener._trimmed_after("0-0") is False  # no stream yet
    assert listener._trimmed_after("1-0") is True  # a stream that went: removals may be lost
    writer.announce("X1")  # before the listener started: not its concern
    assert forgotten == ["X1"]  # the writer's own process, at once
    listener.start()
    try:
        writer.announce("X2")
        wait_for(
            lambda: forgotten == ["X1", "X2", "X2"], what="the removal of X2", timeout_s=BOUND_S
        )
        r_client = redis.Redis.from_url(redis_server.url, decode_responses=True)
        cursor = r_client.xrevrange(STREAM_KEY, count=1)[0][0]
        assert listener._trimmed_after(cursor) is False
        # removals after the cursor trimmed away (as XADD's MAXLEN does after many)
        r_client.xadd(STREAM_KEY, {"household": "X3", "origin": "elsewhere"})
        r_client.xtrim(STREAM_KEY, maxlen=0)
        r_client.xadd(STREAM_KEY, {"household": "X4", "origin": "elsewhere"})
        assert listener._trimmed_after(cursor) is True
        newest = r_client.xrevrange(STREAM_KEY, count=1)[0][0]
        assert listener._trimmed_after(newest) is False
    finally:
        listener.stop()
        writer.stop()


def test_redis_setups_erase_only_the_household(redis_server) -> None:  # noqa: ANN001
    store = RedisSetups(redis_server.url)
    store.put("aaaaaaaaaa", Setup("H1", 5))
    store.put("bbbbbbbbbb", Setup("H2", 5))
    store.put("cccccccccc", Setup("H1", 15))
    assert store.erase("H1") == 2
    assert store.get("aaaaaaaaaa") is None and store.get("cccccccccc") is None
    assert store.get("bbbbbbbbbb") == Setup("H2", 5)
    assert store.erase("H1") == 0


def test_an_announcement_redis_cannot_take_still_forgets_here_and_says_so(caplog) -> None:  # noqa: ANN001
    from tests.services import free_port

    removals = Removals(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    forgotten: list[str | None] = []
    removals.on_removed("test", forgotten.append)
    assert removals.announce("H9") is False
    assert forgotten == ["H9"]
    assert "could not be announced" in caplog.text
    removals.stop()


def test_a_listener_started_while_redis_was_away_forgets_everything_once_back(
    redis_server,  # noqa: ANN001
) -> None:
    """It cannot know what was removed before it could read: what it cached meanwhile goes."""
    redis_server.stop()
    listener = Removals(redis_server.url, block_s=0.2, max_backoff_s=0.2)
    forgotten: list[str | None] = []
    listener.on_removed("test", forgotten.append)
    listener.start()
    try:
        redis_server.start()
        wait_for(lambda: forgotten == [None], what="forgetting everything", timeout_s=BOUND_S)
        Removals(redis_server.url).announce("X5")
        wait_for(lambda: forgotten == [None, "X5"], what="the removal of X5", timeout_s=BOUND_S)
    finally:
        listener.stop()


def test_the_dedicated_ingest_process_forgets_a_household_erased_through_a_worker(
    server_data_dir: Path,
    tmp_path: Path,
    smtp,
    redis_server,  # noqa: ANN001
) -> None:
    """``python -m server ingest`` builds its pipeline on the installation's database and has it
    forget what the workers' removals announce (:meth:`Pipeline.forget_removed`, as the worker's)."""
    from server.ingest import open_pipeline

    config = {"REDIS_URL": redis_server.url, **LIVE}
    one = make_app(server_data_dir, tmp_path / "stats", smtp, **config)
    pipeline = open_pipeline(one.config, lambda *_: None, lambda *_: None)
    removals = Removals(redis_server.url, block_s=0.2)
    pipeline.forget_removed(removals)
    removals.start()
    try:
        ada, _, _, _ = _two_households(one, smtp)
        pipeline.ingestor.lookup_ttl_s = 3600.0  # only the removal can drop it
        assert pipeline.ingestor.channels_of("H1") is not None
        assert pipeline.ingestor.channels_of("H2") is not None
        pipeline.live.history("H1"), pipeline.live.history("H2")  # kept an hour (LIVE)
        assert "H1" in pipeline.live._history and "H2" in pipeline.live._history

        assert ada.write("DELETE", "/api/v1/me").status_code == 200
        wait_for(
            lambda: pipeline.ingestor.channels_of("H1") is None,
            what="the lookup",
            timeout_s=BOUND_S,
        )
        wait_for(
            lambda: "H1" not in pipeline.live._history, what="the live history", timeout_s=BOUND_S
        )
        assert pipeline.ingestor.channels_of("H2") is not None
        assert "H2" in pipeline.live._history
    finally:
        removals.stop()
        pipeline.stop()
        one.extensions["gridlight"].stop()
