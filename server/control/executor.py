"""The schedules' executor, a task of the control leader.

Each round (``CONTROL_SYNC_S``), for every stored plan: every run of a load with a ``device``
switches it ``on`` at the run's start and ``off`` at its end. A switch whose time has come (and
is at most ``GRACE_S`` old: a leader that was down longer does not replay stale switches) is
claimed in the database (``control_schedule_claims``, one row per household, load, time and action)
before its command is created, so it is issued once across workers and hosts even when two
leaders overlap for a moment; the command's id (``sched-{load}-{at_s}-{action}``) makes the
command itself idempotent too.

Every ``SCHEDULE_REPLAN_S`` the executor asks for the plan's inputs again; when their
fingerprint changed (prices, carbon or the forecast) and none of its runs has started yet (a started
load's delivered energy is not tracked), the schedule is planned again from now.
"""

from __future__ import annotations

import logging
from typing import Any

from generator.times import parse_ts
from server.control.commands import CommandRequest
from server.control.milp import PlanError
from server.control.schedules import ScheduleDocument, make_plan

__all__ = ["Executor"]

log = logging.getLogger(__name__)

#: A planned switch older than this is skipped rather than sent late. [s]
GRACE_S = 600


class Executor:
    def __init__(self, control: Any, *, replan_s: float = 900.0) -> None:
        self.control = control
        self.replan_s = replan_s
        self._checked: dict[str, float] = {}

    def forget(self, household: str | None) -> None:
        if household is None:
            self._checked.clear()
        else:
            self._checked.pop(household, None)

    def switches(self, plan: dict[str, Any]) -> list[tuple[int, str, str, str]]:
        """``(at_s, load_id, device, action)`` of a plan, in time order."""
        out = []
        for load in plan.get("loads", []):
            if not load.get("device"):
                continue
            for slot in load["slots"]:
                out.append((parse_ts(slot["start"]), load["id"], load["device"], "on"))
                out.append((parse_ts(slot["end"]), load["id"], load["device"], "off"))
        return sorted(out)

    def tick(self, now_s: float) -> None:
        store = self.control.schedules
        for household in store.households():
            found = store.get(household)
            if found is None:
                continue
            doc, plan = found
            for at_s, load_id, device, action in self.switches(plan):
                if not at_s <= now_s < at_s + GRACE_S:
                    continue
                cid = f"sched-{load_id}-{at_s}-{action}"
                if not store.claim(household, load_id, at_s, action, cid, now_s):
                    continue
                try:
                    self.control.service.command(
                        household,
                        device,
                        CommandRequest(action=action, id=cid),
                        source="schedule",
                        actor=f"schedule:{load_id}",
                    )
                except Exception as err:  # noqa: BLE001 - the device went away: log, go on
                    log.warning("schedule of %s: %s %s failed: %s", household, device, action, err)
            self._maybe_replan(household, doc, plan, now_s)

    def _maybe_replan(self, household: str, doc: dict, plan: dict, now_s: float) -> None:
        if now_s - self._checked.get(household, -float("inf")) < self.replan_s:
            return
        self._checked[household] = now_s
        started = any(
            parse_ts(s["start"]) <= now_s for load in plan.get("loads", []) for s in load["slots"]
        )
        if started or parse_ts(plan["end"]) <= now_s:
            return
        ctl = self.control
        # the inputs the plan was made with, asked for again (same hours): changed?
        plan_start_s, plan_end_s = parse_ts(plan["start"]), parse_ts(plan["end"])
        hours = (plan_end_s - plan_start_s) // 3600 + 1
        again = ctl.inputs(household, plan_start_s // 3600 * 3600, hours)
        if again.fingerprint() == plan.get("inputs_fingerprint"):
            return
        parsed = ScheduleDocument.model_validate(doc, strict=False)
        horizon_h = parsed.horizon_h or ctl.horizon_h
        inputs = ctl.inputs(household, int(now_s // 3600 * 3600), horizon_h + 1)
        try:
            fresh = make_plan(
                parsed,
                inputs,
                now_s=now_s,
                step_s=ctl.step_s,
                horizon_h=horizon_h,
                limit_kw=ctl.limit_kw,
            )
        except PlanError as err:
            log.warning("re-planning %s failed, keeping the plan: %s", household, err)
            return
        log.info("prices or forecast of %s changed: re-planned", household)
        ctl.schedules.put(household, doc, fresh, now_s)
