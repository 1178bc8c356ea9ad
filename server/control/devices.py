"""Controllable devices: their description (a pydantic model, also the MQTT announcement) and
their store.

A household's devices are set over HTTP (``PUT …/controls``, the whole list) or announced by a
device over MQTT: ``gridlight/{h}/control/{device}/config`` with the JSON of one
:class:`Device` (its ``id`` may be left out: the topic names it); an empty payload removes it.

Capabilities: ``on_off`` (``on`` / ``off`` commands) and ``setpoint`` (``set`` commands with a
``setpoint_c`` inside the device's ``setpoint_c`` range). A thermostat has a setpoint range;
every other kind switches on and off.
"""

from __future__ import annotations

import json
import time
from typing import Annotated, Literal

import sqlalchemy as sa
from pydantic import ConfigDict, Field, model_validator

from server.storage.database import Database
from server.validation import Body, expect, number, problem

__all__ = ["KINDS", "ControlsDocument", "Device", "DeviceStore", "SetpointRange"]

KINDS = ("relay", "plug", "water_heater", "thermostat", "ev_charger")
CAPABILITIES = ("on_off", "setpoint")
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$"
#: Devices one household may have.
MAX_DEVICES = 64

DeviceId = Annotated[
    str,
    Field(pattern=ID_PATTERN, description="letters, digits, '_' or '-'; at most 32"),
    expect("an id of letters, digits, '_' or '-' (at most 32, starting with a letter or digit)"),
]


class SetpointRange(Body):
    """The setpoints a device accepts. [°C]"""

    min: number(-30, 100, description="lowest setpoint [°C]")
    max: number(-30, 100, description="highest setpoint [°C]")

    @model_validator(mode="after")
    def _ordered(self) -> SetpointRange:
        if self.min >= self.max:
            raise problem(f"min ({self.min:g}) must be below max ({self.max:g})")
        return self


class Device(Body):
    """A controllable device of a household."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {"id": "plug1", "kind": "plug", "capabilities": ["on_off"], "power_kw": 2.0}
            ]
        }
    )

    id: DeviceId
    kind: Annotated[
        Literal["relay", "plug", "water_heater", "thermostat", "ev_charger"],
        expect("one of " + ", ".join(KINDS)),
    ] = Field(description="relay, plug, water_heater, thermostat or ev_charger")
    capabilities: Annotated[
        list[Annotated[Literal["on_off", "setpoint"], expect("on_off or setpoint")]],
        Field(min_length=1, max_length=2),
        expect("a list of on_off and/or setpoint"),
    ] = Field(description="on_off and/or setpoint")
    name: Annotated[str, Field(max_length=64), expect("a name of at most 64 characters")] = ""
    power_kw: number(0, 1000, description="rated power when on [kW]") | None = None
    setpoint_c: SetpointRange | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Device:
        caps = self.capabilities
        if len(set(caps)) != len(caps):
            raise problem("capabilities: each capability once", at="capabilities")
        if "setpoint" in caps and self.setpoint_c is None:
            raise problem(
                "a device with the setpoint capability needs setpoint_c {min, max} [°C]",
                at="setpoint_c",
            )
        if "setpoint" not in caps and self.setpoint_c is not None:
            raise problem("setpoint_c is for devices with the setpoint capability", at="setpoint_c")
        if self.kind == "thermostat" and "setpoint" not in caps:
            raise problem("a thermostat needs the setpoint capability", at="capabilities")
        return self

    def public(self) -> dict:
        return self.model_dump(exclude_none=True)


EXAMPLE = {
    "devices": [
        {"id": "plug1", "kind": "plug", "capabilities": ["on_off"], "power_kw": 2.0},
        {
            "id": "thermo1",
            "kind": "thermostat",
            "capabilities": ["on_off", "setpoint"],
            "setpoint_c": {"min": 16, "max": 30},
        },
    ]
}


class ControlsDocument(Body):
    """A household's controllable devices (``PUT`` replaces the list)."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    devices: Annotated[
        list[Device],
        Field(max_length=MAX_DEVICES),
        expect(f"a list of at most {MAX_DEVICES} devices"),
    ] = Field(description="the devices")

    @model_validator(mode="after")
    def _unique(self) -> ControlsDocument:
        seen: set[str] = set()
        for i, device in enumerate(self.devices):
            if device.id in seen:
                raise problem(f"device id {device.id!r} appears twice", at=f"devices[{i}].id")
            seen.add(device.id)
        return self


class DeviceStore:
    """``control_devices`` rows, in the installation's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def all(self, household: str) -> list[Device]:
        with self.db.read() as c:
            rows = c.execute(
                sa.text("SELECT doc FROM control_devices WHERE household = :h ORDER BY id"),
                {"h": household},
            ).all()
        return [Device.model_validate(json.loads(doc), strict=False) for (doc,) in rows]

    def get(self, household: str, device: str) -> Device | None:
        with self.db.read() as c:
            row = c.execute(_GET, {"h": household, "id": device}).first()
        return None if row is None else Device.model_validate(json.loads(row[0]), strict=False)

    def households(self) -> set[str]:
        with self.db.read() as c:
            rows = c.execute(sa.text("SELECT DISTINCT household FROM control_devices")).all()
        return {h for (h,) in rows}

    def replace(self, household: str, devices: list[Device], now_s: float | None = None) -> None:
        now_s = time.time() if now_s is None else now_s
        with self.db.write() as c:
            c.execute(sa.text("DELETE FROM control_devices WHERE household = :h"), {"h": household})
            for device in devices:
                _put(c, household, device, "http", now_s)

    def announce(self, household: str, device: Device, now_s: float | None = None) -> bool:
        """Upsert one announced device; True when it is new or changed."""
        now_s = time.time() if now_s is None else now_s
        with self.db.write() as c:
            row = c.execute(_GET, {"h": household, "id": device.id}).first()
            if row is not None and json.loads(row[0]) == device.public():
                return False
            _put(c, household, device, "mqtt", now_s)
        return True

    def remove(self, household: str, device: str) -> bool:
        with self.db.write() as c:
            cur = c.execute(
                sa.text("DELETE FROM control_devices WHERE household = :h AND id = :id"),
                {"h": household, "id": device},
            )
        return cur.rowcount > 0


_GET = sa.text("SELECT doc FROM control_devices WHERE household = :h AND id = :id")
_PUT = sa.text(
    "INSERT INTO control_devices (household, id, kind, doc, source, updated_s)"
    " VALUES (:h, :id, :kind, :doc, :source, :now)"
    " ON CONFLICT (household, id) DO UPDATE SET kind = excluded.kind, doc = excluded.doc,"
    " source = excluded.source, updated_s = excluded.updated_s"
)


def _put(c: sa.Connection, household: str, device: Device, source: str, now_s: float) -> None:
    c.execute(
        _PUT,
        {"h": household, "id": device.id, "kind": device.kind,
         "doc": json.dumps(device.public()), "source": source, "now": now_s},
    )  # fmt: skip
