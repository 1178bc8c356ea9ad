"""Devices' push tokens on SQLite and PostgreSQL: register, refresh, forget, prune."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from server.push.devices import DeviceStore
from server.storage import Database, open_database
from server.storage.crypto import Keyring, MasterKey

TOKEN = "device-one:APA91b" + "a" * 140
OTHER = "device-two:APA91b" + "b" * 140


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def test_register_refresh_unregister_and_prune(db: Database):
    now = [1_800_000_000]
    devices = DeviceStore(db, Keyring.load(db, MasterKey.generate()), clock=lambda: now[0])
    assert devices.register("A", TOKEN, "android") is True
    assert devices.register("A", TOKEN, "ios") is False  # refreshed, in the same second
    now[0] += 1
    assert devices.register("A", OTHER, "web") is True
    assert devices.register("B", TOKEN, "android") is True  # one device, two households
    assert devices.devices("A") == [(TOKEN, "ios"), (OTHER, "web")]
    assert devices.households() == ["A", "B"]
    assert devices.unregister("A", OTHER) is True
    assert devices.unregister("A", OTHER) is False
    assert devices.prune(TOKEN) == 2
    assert devices.devices("A") == [] and devices.households() == []


def test_concurrent_registrations_of_one_token_make_one_new(db: Database):
    devices = DeviceStore(db, Keyring.load(db, MasterKey.generate()))
    start = threading.Barrier(6)
    new: list[bool] = []

    def register() -> None:
        start.wait(timeout=10)
        new.append(devices.register("A", TOKEN, "android"))

    threads = [threading.Thread(target=register) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(new) == [False] * 5 + [True]
    assert devices.devices("A") == [(TOKEN, "android")]
