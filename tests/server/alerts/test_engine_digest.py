"""The quiet-hours digest end to end: alerts logged quiet overnight by the engine, one signed
webhook after the household's local morning, never twice (next sync, another worker, a restart).

The engines run on an injected clock and are driven by calling ``sync()`` (no control thread):
moving the clock past 07:00 in Asia/Kolkata is what sends the digest.
"""

from __future__ import annotations

import calendar
import json
from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from server.alerts.channels import WebhookChannel, sign
from server.alerts.dispatch import Dispatcher
from server.alerts.engine import AlertEngine
from server.alerts.rules import HouseholdRules, Observation
from server.alerts.settings import SettingsStore, default_settings, merge, rule_settings
from server.alerts.store import AlertLog
from server.leases import LocalLease
from server.storage import open_database
from tests.server.alerts.conftest import ENGINE_INTERVAL_S
from tests.server.alerts.servers import HttpStandIn, webhook_receiver
from tests.wait import wait_for

SECRET = "whsec-0123456789abcdef"
INTERVAL_S = 60
#: 23:30 on 2026-11-21 in Asia/Kolkata: inside quiet hours 22:00-07:00.
NIGHT = calendar.timegm((2026, 11, 21, 18, 0, 0))
#: 07:00 on 2026-11-22 in Asia/Kolkata: the end of that night's quiet period.
MORNING = calendar.timegm((2026, 11, 22, 1, 30, 0))
DELAY_S = 2 * ENGINE_INTERVAL_S  # the engine's default digest delay: two windows


class Clock:
    def __init__(self, now_s: float) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


@pytest.fixture
def hook() -> Iterator[HttpStandIn]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture(params=["sqlite", "postgresql"])
def night(
    request: pytest.FixtureRequest,
    make_engine_app,  # noqa: ANN001
    hook: HttpStandIn,
) -> Iterator[tuple[Flask, dict, Callable]]:
    """An app without its own evaluator, household A's settings (quiet hours, a webhook) and a
    factory of engines on the app's database (``own_db``: an engine and pool of their own, like
    another worker's or host's); once on the embedded SQLite, once on PostgreSQL."""
    config: dict[str, object] = {"ALERTS_ENABLED": False}
    if request.param == "postgresql":
        config["DATABASE_URL"] = request.getfixturevalue("postgres_url")
    app = make_engine_app(**config)
    ext = app.extensions["alerts"]
    doc = merge(
        default_settings("Asia/Kolkata", ("AC", "Geyser", "Overall")),
        {
            "quiet_hours": {"start": "22:00", "end": "07:00"},
            "rules": {"level": {"enabled": False}},
            "channels": {
                "push": {"enabled": False},
                "webhook": {"enabled": True, "url": hook.url + "/digest", "secret": SECRET},
            },
        },
    )
    ext.settings.put("A", doc)
    engines: list[AlertEngine] = []
    databases = []

    def make(clock: Clock, *, own_db: bool = False) -> AlertEngine:
        log = ext.log
        if own_db:
            databases.append(open_database(app.extensions["gridlight"].db.url))
            log = AlertLog(databases[-1])
        engine = AlertEngine(
            app.extensions["gridlight"],
            SettingsStore(log.db, app.extensions["gridlight"].keyring),
            log,
            Dispatcher(log, {"webhook": WebhookChannel()}, backoff_s=0.01),
            LocalLease(),
            interval_s=ENGINE_INTERVAL_S,
            clock=clock,
        )
        engines.append(engine)
        return engine

    yield app, doc, make
    for engine in engines:
        engine.stop()
    for db in databases:
        db.dispose()


def overnight(doc: dict, start_s: int, overall_kw: list[float], level: str = "red") -> list:
    """The alerts the household's rules raise on one-minute windows from ``start_s``."""
    rules = HouseholdRules("A", rule_settings(doc))
    out = []
    for i, kw in enumerate(overall_kw):
        window = Observation(
            start_s + i * INTERVAL_S,
            INTERVAL_S,
            {"Overall": kw},
            {"Overall": level if kw > 1 else "green"},
            {"Overall": 0.5},
        )
        out += rules.observe(window)
    return out


def digests(log: AlertLog) -> list[dict]:
    return [a for a in log.page("A", limit=500)[0] if a["rule"] == "digest"]


def bodies(hook: HttpStandIn) -> list[dict]:
    return [json.loads(r["body"]) for r in hook.requests]


def test_quiet_alerts_are_digested_once_after_the_quiet_period(night, hook):  # noqa: ANN001
    app, doc, make = night
    log = app.extensions["alerts"].log
    clock = Clock(NIGHT - 600)
    engine = make(clock)
    engine.sync()  # last night's period (no quiet alerts then): nothing to send
    assert digests(log) == []

    # a geyser stuck on from 23:30, and a critical spike at 02:00 (delivered at once)
    spike = overnight(doc, NIGHT, [0.3, 3.0, 3.0, 0.3, 0.3])
    critical = overnight(doc, NIGHT + 9000, [0.3, 9.0, 0.3, 0.3], level="critical")
    assert [(a.rule, a.kind, a.quiet) for a in spike] == [
        ("spike", "alert", True),
        ("spike", "recovery", True),
    ]
    assert [(a.kind, a.level, a.quiet) for a in critical] == [
        ("alert", "critical", False),
        ("recovery", "green", True),
    ]
    clock.now_s = NIGHT + 3600
    engine.handle("A", spike + critical)
    wait_for(lambda: len(hook.requests) == 1, what="the critical alert's webhook", timeout_s=30.0)
    logged = {a["id"]: a for a in log.page("A")[0]}
    quiet_ids = sorted(i for i, a in logged.items() if a["quiet_hours"])
    critical_id = next(i for i, a in logged.items() if a["level"] == "critical")
    assert len(quiet_ids) == 3

    clock.now_s = MORNING + DELAY_S - 1  # 07:00 passed, late windows may still come
    engine.sync()
    assert digests(log) == []

    clock.now_s = MORNING + DELAY_S
    engine.sync()
    (digest,) = digests(log)
    wait_for(lambda: len(hook.requests) == 2, what="the digest's webhook", timeout_s=30.0)
    request = hook.requests[1]
    assert request["path"] == "/digest"
    assert request["headers"]["X-Gridlight-Signature"] == sign(SECRET, request["body"])
    sent = bodies(hook)[1]["alert"]
    assert (sent["id"], sent["rule"], sent["kind"]) == (digest["id"], "digest", "digest")
    assert sent["level"] == "red"
    assert sent["ts"] == digest["ts"] == "2026-11-22T01:30:00Z"
    assert sent["values"]["count"] == 3
    assert sent["values"]["rules"] == {"spike": 3}
    assert [a["id"] for a in sent["values"]["alerts"]] == quiet_ids
    assert critical_id not in [a["id"] for a in sent["values"]["alerts"]]
    assert sent["message"].startswith("During quiet hours (22:00-07:00) 3 alerts were held")
    wait_for(
        lambda: len(log.attempts(digest["id"])) == 1,
        what="the digest's delivery record",
        timeout_s=30.0,
    )
    assert [(d.channel, d.status) for d in log.attempts(digest["id"])] == [("webhook", "sent")]

    # the next sync, and another worker's engine on its own connection: nothing more
    clock.now_s += 5
    engine.sync()
    other = make(clock, own_db=True)
    other.sync()
    engine.stop()
    other.stop()
    assert len(digests(log)) == 1
    assert len(hook.requests) == 2


def test_a_night_without_quiet_alerts_sends_no_digest(night, hook):  # noqa: ANN001
    app, doc, make = night
    log = app.extensions["alerts"].log
    clock = Clock(NIGHT)
    engine = make(clock)
    engine.sync()
    # a critical alert overnight is delivered at once; its recovery was quiet
    critical = overnight(doc, NIGHT, [0.3, 9.0], level="critical")
    engine.handle("A", critical)
    wait_for(lambda: len(hook.requests) == 1, what="the critical alert's webhook", timeout_s=30.0)
    clock.now_s = MORNING + 3600
    engine.sync()
    engine.stop()
    assert digests(log) == []
    assert len(hook.requests) == 1
    with log.db.read() as conn:
        claims = [
            tuple(r)
            for r in conn.execute(sa.text("SELECT period_end_s, alert_id FROM alert_digests"))
        ]
    assert (MORNING, None) in claims  # looked at once, and nothing to say


def test_a_period_missed_by_a_stopped_evaluator_is_digested_at_the_next_start(night, hook):  # noqa: ANN001
    app, doc, make = night
    log = app.extensions["alerts"].log
    clock = Clock(NIGHT)
    first = make(clock)
    first.sync()
    first.handle("A", overnight(doc, NIGHT, [0.3, 3.0]))  # a spike that never recovered
    first.stop()  # the worker goes at 05:00, the next starts at 07:10
    clock.now_s = MORNING + 600
    second = make(clock, own_db=True)
    second.sync()
    wait_for(lambda: len(hook.requests) == 1, what="the digest's webhook", timeout_s=30.0)
    (sent,) = bodies(hook)
    assert (sent["alert"]["rule"], sent["alert"]["values"]["count"]) == ("digest", 1)
    second.stop()
    (digest,) = digests(log)
    assert digest["id"] == sent["alert"]["id"]


def test_a_period_over_a_day_old_is_not_digested(night, hook):  # noqa: ANN001
    app, doc, make = night
    log = app.extensions["alerts"].log
    clock = Clock(NIGHT)
    first = make(clock)
    first.sync()
    first.handle("A", overnight(doc, NIGHT, [0.3, 3.0]))
    first.stop()
    clock.now_s = MORNING + 86_400 + 1  # back a day and a second after that night ended
    second = make(clock, own_db=True)
    second.sync()
    second.stop()
    assert digests(log) == []
    assert hook.requests == []
