"""Savings from schedules: the slots whose ``on`` switch was claimed in the month and acknowledged
count with their plan's saving (in proportion to their energy), on SQLite and PostgreSQL; the
report prints them, says when none ran, and when the household has no schedules at all."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from generator.times import format_ts
from server.control.schedules import ScheduleStore
from server.reports.control_runs import schedule_runs
from server.reports.generate import run_task
from server.storage.database import Database, open_database
from tests.server.reports.conftest import utc
from tests.server.reports.test_pdf import _task

FEB = (int(utc("2026-02-01")), int(utc("2026-03-01")))
NIGHT = int(utc("2026-02-10 02:00"))
NOON = int(utc("2026-02-10 12:00"))


def _plan() -> dict:
    """A plan as server.control.schedules.make_plan writes it: a washer in two 1 kWh slots
    (saving 0.40 EUR and 0.2 kg CO2 against its earliest start), a heater in one."""

    def slot(start_s: int, kwh: float) -> dict:
        return {"start": format_ts(start_s), "end": format_ts(start_s + 3600), "power_kw": kwh,
                "energy_kwh": kwh, "cost": 0.1 * kwh, "co2_kg": 0.05 * kwh}  # fmt: skip

    return {
        "currency": "EUR",
        "loads": [
            {"id": "washer", "device": "plug1", "slots": [slot(NIGHT, 1.0), slot(NIGHT + 3600, 1.0)],
             "saving": 0.40, "co2_saving_kg": 0.2},
            {"id": "heater", "device": None, "slots": [slot(NOON, 2.0)], "saving": 0.30,
             "co2_saving_kg": 0.1},
        ],
        "saving": 0.70,
        "inputs_fingerprint": "x",
    }  # fmt: skip


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    db = open_database(database_url)
    yield db
    db.dispose()


def _ran(db: Database, load: str, at_s: int, status: str, cid: str) -> None:
    assert ScheduleStore(db).claim("Z", load, at_s, "on", cid, at_s - 5)
    with db.write() as c:
        c.execute(
            sa.text(
                "INSERT INTO control_commands (household, id, device, action, body, status,"
                " source, actor, created_s, expires_s, next_s)"
                " VALUES ('Z', :id, 'plug1', 'on', '{}', :st, 'schedule', 'schedule', :t, :t, :t)"
            ),
            {"id": cid, "st": status, "t": at_s},
        )


def test_runs_acknowledged_in_the_month_count_with_their_plans_saving(db: Database):
    assert schedule_runs(db, "Z", *FEB) is None  # no schedule data at all
    ScheduleStore(db).put("Z", {"loads": []}, _plan(), FEB[0])
    none = schedule_runs(db, "Z", *FEB)
    assert none is not None and none["runs"] == 0 and none["saving"] == 0
    _ran(db, "washer", NIGHT, "acked", "c1")  # half the washer's energy ran
    _ran(db, "heater", NOON, "failed", "c2")  # the device never switched on
    _ran(db, "old-load", NIGHT, "acked", "c3")  # from a plan since replaced
    _ran(db, "washer", FEB[1] + 3600, "acked", "c4")  # March: not this month
    runs = schedule_runs(db, "Z", *FEB)
    assert runs["runs"] == 2 and runs["unknown_runs"] == 1 and runs["failed"] == 1
    [washer] = runs["loads"]
    assert (washer["id"], washer["slots_run"], washer["slots"]) == ("washer", 1, 2)
    assert washer["saving"] == pytest.approx(0.20)
    assert runs["saving"] == pytest.approx(0.20)
    assert runs["co2_saving_kg"] == pytest.approx(0.10)
    assert runs["currency"] == "EUR"


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_report_prints_the_schedules_saving(db: Database, reports_dataset: Path):
    import io

    from pypdf import PdfReader

    def text(task) -> str:  # noqa: ANN001
        pdf, summary = run_task(task)
        pages = PdfReader(io.BytesIO(pdf)).pages
        return " ".join(" ".join(p.extract_text() for p in pages).split()), summary

    task = _task(reports_dataset, "2026-02")
    flat, _ = text(task)
    assert "From schedules: none. This household has no schedules" in flat
    ScheduleStore(db).put("Z", {"loads": []}, _plan(), FEB[0])
    flat, _ = text(replace(task, schedules=schedule_runs(db, "Z", *FEB)))
    assert "From schedules: none ran in February 2026." in flat
    _ran(db, "washer", NIGHT, "acked", "c1")
    _ran(db, "washer", NIGHT + 3600, "acked", "c2")
    _ran(db, "old-load", NIGHT, "acked", "c3")
    flat, _ = text(replace(task, schedules=schedule_runs(db, "Z", *FEB)))
    assert "From schedules: EUR 0.40 and 0.20 kg CO2 saved" in flat
    assert "washer (plug1): 2 of 2 slots, 2.0 kWh" in flat
    assert "1 more scheduled run belonged to a plan since replaced" in flat
