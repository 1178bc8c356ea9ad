"""What the household's schedules saved in a month, from what the control package records.

The control package (:mod:`server.control.schedules`) keeps one plan in force per household
(``control_schedules.plan``: per load its slots, their cost, and ``saving``: the cost of running
the load at its earliest start less the cost at its planned slots, in the plan's currency) and a
claim per planned switch it sent (``control_schedule_claims``: load, planned time, ``on``/``off``,
the command), each command's fate in ``control_commands``. A slot *ran* when its ``on`` switch
was claimed at the slot's start within the month and the device acknowledged the command. A
load's saving counts in proportion to the energy of its slots that ran (all of them: the plan's
whole saving). Switches that ran under a plan since replaced are counted, but their saving is
not known (the plan they belonged to is no longer stored), and the report says so.

:func:`schedule_runs` reads it (SQL on the installation's database, no import of the control
package: features do not import each other's internals); ``None`` when the household has no
schedule data at all, so that the report can say there is none.
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa

from generator.times import parse_ts
from server.storage.database import Database

__all__ = ["schedule_runs"]


def schedule_runs(db: Database, household: str, from_s: int, to_s: int) -> dict[str, Any] | None:
    """The schedules run in ``[from_s, to_s)`` and what they saved (see the module docstring):
    ``{"loads": [{"id", "device", "slots_run", "slots", "energy_kwh", "saving",
    "co2_saving_kg"}], "saving", "co2_saving_kg", "currency", "runs", "unknown_runs"}``;
    ``None`` when the household has neither a schedule nor a claimed switch."""
    with db.read() as c:
        plan_row = c.execute(
            sa.text("SELECT plan FROM control_schedules WHERE household = :h"), {"h": household}
        ).first()
        claims = c.execute(
            sa.text(
                "SELECT cl.load_id, cl.at_s, cm.status FROM control_schedule_claims cl"
                " LEFT JOIN control_commands cm"
                " ON cm.household = cl.household AND cm.id = cl.command_id"
                " WHERE cl.household = :h AND cl.action = 'on'"
                " AND cl.at_s >= :a AND cl.at_s < :b"
            ),
            {"h": household, "a": int(from_s), "b": int(to_s)},
        ).all()
    if plan_row is None and not claims:
        return None
    plan = json.loads(plan_row[0]) if plan_row is not None and plan_row[0] else {}
    ran = {(load_id, int(at_s)) for load_id, at_s, status in claims if status == "acked"}
    matched: set[tuple[str, int]] = set()
    loads = []
    for load in plan.get("loads", []):
        slots = load.get("slots", [])
        done = [s for s in slots if (load["id"], int(parse_ts(s["start"]))) in ran]
        if not done:
            continue
        matched |= {(load["id"], int(parse_ts(s["start"]))) for s in done}
        total = sum(float(s["energy_kwh"]) for s in slots) or 1.0
        energy = sum(float(s["energy_kwh"]) for s in done)
        part = energy / total
        loads.append(
            {
                "id": load["id"],
                "device": load.get("device"),
                "slots_run": len(done),
                "slots": len(slots),
                "energy_kwh": energy,
                "saving": float(load.get("saving") or 0.0) * part,
                "co2_saving_kg": float(load.get("co2_saving_kg") or 0.0) * part,
            }
        )
    return {
        "loads": loads,
        "saving": sum(item["saving"] for item in loads),
        "co2_saving_kg": sum(item["co2_saving_kg"] for item in loads),
        "currency": plan.get("currency"),
        "runs": len(ran),
        "unknown_runs": len(ran - matched),
        "failed": sum(1 for _, _, status in claims if status not in ("acked", "pending")),
    }
