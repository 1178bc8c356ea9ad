"""How attached models show in a live household's description and statistics' history: the
appliance joins its channels, marked estimated with the estimator's state; an estimate with too
few stored values stays out of the statistics' history; a metered appliance is never estimated."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.ingest.history import LiveHouseholds
from server.storage import KeyStore, Reading, ReadingStore
from server.storage.database import Database, open_database
from server.storage.estimators import EstimatorStore

HEADER = {"appliance": "AC", "resolution_s": 60, "lag_s": 0, "context_samples": 251}


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    found = open_database(f"sqlite:///{tmp_path / 'gridlight.db'}")
    yield found
    found.dispose()


def test_an_attached_model_is_an_estimated_channel_of_the_live_household(db: Database):
    keys, readings, models = KeyStore(db), ReadingStore(db), EstimatorStore(db)
    keys.add_household("L", ("Overall",), timezone="Asia/Kolkata")
    live = LiveHouseholds(keys, readings, min_history_s=60, refresh_s=0, estimators=models)
    assert live.info("L").channels == ("Overall",) and live.info("L").estimated == ()

    now = int(time.time())
    models.attach("L", "AC", HEADER, b"model bytes", now)
    info = live.info("L")
    assert info.channels == ("Overall", "AC")
    assert info.estimated == ("AC",)
    estimate = info.extra["estimates"]["AC"]
    assert (estimate["state"], estimate["need_samples"], estimate["model_resolution_s"]) == (
        "pending",
        251,
        60,
    )
    assert [i.estimated for i in live.all()] == [("AC",)]

    start = now - 600
    readings.write([Reading("L", "Overall", start + s, 0.5) for s in range(120)])
    readings.write([Reading("L", "AC", start + 60 * k, 0.1) for k in range(2)])
    history = live.history("L")  # the young estimate is left out, not a reason to refuse
    assert history.household("L").channels == ("Overall",)
    readings.write([Reading("L", "AC", start + s, 0.1) for s in range(120, 240)])
    readings.write([Reading("L", "Overall", start + s, 0.5) for s in range(120, 240)])
    assert live.history("L").household("L").channels == ("Overall", "AC")

    models.set_state("L", "AC", now, {"state": "estimating", "need_samples": 251})
    assert live.info("L").extra["estimates"]["AC"]["state"] == "estimating"
    models.set_state("L", "AC", now - 1, {"state": "failed"})  # an older attachment's: ignored
    assert live.info("L").extra["estimates"]["AC"]["state"] == "estimating"
    assert models.model("L", "AC", now) == b"model bytes"
    assert models.model("L", "AC", now - 1) is None

    assert models.detach("L", "AC") and not models.detach("L", "AC")
    assert live.info("L").estimated == () and live.info("L").channels == ("Overall",)


def test_a_metered_appliance_is_never_an_estimate(db: Database):
    keys, models = KeyStore(db), EstimatorStore(db)
    keys.add_household("M", ("AC", "Overall"))
    models.attach("M", "AC", HEADER, b"x", time.time())  # (attach_model refuses this: 409)
    live = LiveHouseholds(keys, ReadingStore(db), estimators=models)
    assert live.info("M").channels == ("AC", "Overall")
    assert live.info("M").estimated == ()
