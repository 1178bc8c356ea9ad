"""The control stores on SQLite and PostgreSQL: devices, commands with their audit log, schedules,
automations, and the claims that make a planned switch happen once under concurrent claimers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.control.automations import AutomationStore
from server.control.commands import CommandRequest, CommandStore
from server.control.devices import Device, DeviceStore
from server.control.errors import Conflict
from server.control.schedules import ScheduleStore
from server.storage.database import Database, open_database
from tests.server.control.conftest import PLUG, T0, THERMO


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def test_devices_replace_announce_and_remove(db: Database) -> None:
    store = DeviceStore(db)
    plug, thermo = Device.model_validate(PLUG), Device.model_validate(THERMO)
    store.replace("H1", [thermo, plug], T0)
    assert [d.id for d in store.all("H1")] == ["plug1", "thermo1"]
    assert store.get("H1", "thermo1") == thermo and store.get("H2", "plug1") is None
    assert store.households() == {"H1"}
    # announcing the same device changes nothing; a changed one is replaced
    assert not store.announce("H1", plug, T0 + 1)
    moved = Device.model_validate({**PLUG, "power_kw": 3.0})
    assert store.announce("H1", moved, T0 + 2)
    assert store.get("H1", "plug1") == moved
    assert store.announce("H2", plug, T0 + 3) and store.households() == {"H1", "H2"}
    store.replace("H1", [plug], T0 + 4)  # the whole list
    assert [d.id for d in store.all("H1")] == ["plug1"]
    assert store.remove("H1", "plug1") and not store.remove("H1", "plug1")
    assert store.all("H1") == [] and store.households() == {"H2"}


def test_commands_move_once_and_are_audited(db: Database) -> None:
    store = CommandStore(db)
    on = CommandRequest(action="on", id="cmd-1")
    created, new = store.create("H1", "plug1", on, source="api", actor="k1", now_s=T0, ttl_s=60)
    assert new and created.status == "pending" and created.expires_s == T0 + 60
    assert created.attempts == 0 and created.next_s == T0
    again, new = store.create("H1", "plug1", on, source="api", actor="k1", now_s=T0 + 1, ttl_s=60)
    assert not new and again == created
    with pytest.raises(Conflict, match="command id 'cmd-1' was used for another command"):
        store.create(
            "H1", "plug1", CommandRequest(action="off", id="cmd-1"),
            source="api", actor="k1", now_s=T0 + 2, ttl_s=60,
        )  # fmt: skip
    assert [c.id for c in store.due(T0)] == ["cmd-1"] and store.due(T0 - 1) == []
    store.sent(created, T0, T0 + 5)
    assert store.due(T0 + 4) == [] and store.due(T0 + 5)[0].attempts == 1
    done = store.finish("H1", "cmd-1", "acked", T0 + 6, state={"on": True}, actor="device:plug1")
    assert done is not None and done.status == "acked" and done.state == {"on": True}
    assert store.finish("H1", "cmd-1", "failed", T0 + 7, error="late") is None
    assert store.finish("H1", "nope", "failed", T0 + 7, error="x") is None
    assert store.get("H1", "cmd-1") == done and store.get("H2", "cmd-1") is None
    assert store.due(T0 + 100) == []
    events = [(a["event"], a["actor"]) for a in store.audit("H1")]
    assert events == [("acked", "device:plug1"), ("sent", None), ("repeated", "k1"),
                      ("created", "k1")]  # fmt: skip
    assert store.audit("H1", limit=1)[0]["detail"] == {"state": {"on": True}}
    with pytest.raises(ValueError, match="not a final status: 'pending'"):
        store.finish("H1", "cmd-1", "pending", T0)


def test_concurrent_creates_of_one_id_make_one_command(db: Database) -> None:
    store = CommandStore(db)
    request = CommandRequest(action="on", id="same")
    start = threading.Barrier(8)

    def create(_: int) -> bool:
        start.wait()
        return store.create("H1", "plug1", request, source="api", actor="k", now_s=T0, ttl_s=60)[1]

    with ThreadPoolExecutor(8) as pool:
        created = list(pool.map(create, range(8)))
    assert sum(created) == 1, created
    events = sorted(a["event"] for a in store.audit("H1"))
    assert events == ["created"] + ["repeated"] * 7


def test_concurrent_finishers_move_a_command_once(db: Database) -> None:
    store = CommandStore(db)
    store.create(
        "H1", "plug1", CommandRequest(action="on", id="c"),
        source="api", actor=None, now_s=T0, ttl_s=60,
    )  # fmt: skip
    start = threading.Barrier(8)

    def finish(i: int) -> bool:
        start.wait()
        return store.finish("H1", "c", "acked", T0 + i, state={"on": True}) is not None

    with ThreadPoolExecutor(8) as pool:
        moved = list(pool.map(finish, range(8)))
    assert sum(moved) == 1, moved
    assert [a["event"] for a in store.audit("H1")].count("acked") == 1


def test_schedules_and_automations_round_trip(db: Database) -> None:
    schedules = ScheduleStore(db)
    assert schedules.get("H1") is None and schedules.households() == []
    schedules.put("H1", {"loads": []}, {"inputs_fingerprint": "a", "loads": []}, T0)
    schedules.put("H1", {"loads": [1]}, {"inputs_fingerprint": "b", "loads": [2]}, T0 + 1)
    assert schedules.get("H1") == ({"loads": [1]}, {"inputs_fingerprint": "b", "loads": [2]})
    assert schedules.households() == ["H1"]
    automations = AutomationStore(db)
    assert automations.get("H1") == [] and automations.households() == set()
    automations.put("H1", [{"device": "plug1"}], T0)
    automations.put("H2", [], T0)
    assert automations.get("H1") == [{"device": "plug1"}] and automations.households() == {"H1"}
    automations.put("H1", [], T0 + 1)
    assert automations.households() == set()


def test_a_planned_switch_is_claimed_once(db: Database) -> None:
    store = ScheduleStore(db)
    at_s = int(T0) + 3600
    assert store.claim("H1", "geyser", at_s, "on", "c-1", T0)
    assert not store.claim("H1", "geyser", at_s, "on", "c-2", T0 + 1)
    assert store.claim("H1", "geyser", at_s, "off", "c-3", T0)  # another switch
    assert store.claim("H1", "geyser", at_s + 900, "on", "c-4", T0)
    assert store.claim("H2", "geyser", at_s, "on", "c-5", T0)


def test_concurrent_claimers_of_a_planned_switch_win_once(db: Database) -> None:
    store = ScheduleStore(db)
    for round_ in range(5):
        at_s = int(T0) + round_ * 900
        start = threading.Barrier(8)

        def claim(i: int, at_s: int = at_s, start: threading.Barrier = start) -> bool:
            start.wait()
            return store.claim("H1", "geyser", at_s, "on", f"c-{i}", T0)

        with ThreadPoolExecutor(8) as pool:
            won = list(pool.map(claim, range(8)))
        assert sum(won) == 1, (round_, won)
