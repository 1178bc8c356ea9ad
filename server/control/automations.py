"""Automations: when a channel stays at a level for N windows, send a command.

``PUT …/automations`` takes ``{"rules": [{"device": "plug1", "channel": "Overall",
"red_intervals": 3, "action": "off"}]}``: after ``red_intervals`` consecutive windows (the
control leader's ``CONTROL_INTERVAL_S``) whose ``channel`` is at ``level`` (``red`` by default;
``critical`` counts as worse than red) the rule sends its command, like any other (acknowledged,
audited with the actor ``automation:{index}``), then waits ``cooldown_min`` before it may fire
again. A window at a lower level, or without levels (a household still learning), resets the
count. The leader's listener of each household (:meth:`Automations.part`) judges its windows.
"""

from __future__ import annotations

import json
import logging
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from pydantic import ConfigDict, Field, model_validator

from server.control.commands import CommandRequest
from server.control.devices import DeviceId
from server.storage.database import Database
from server.streaming.classified import ClassifiedWindow
from server.validation import Body, expect, number, problem, whole

__all__ = ["AutomationStore", "Automations", "AutomationsDocument", "Rule"]

log = logging.getLogger(__name__)

RANK = {"green": 0, "yellow": 1, "red": 2, "critical": 3}
MAX_RULES = 32


class Rule(Body):
    """Send ``action`` to ``device`` when ``channel`` stays at ``level`` for N windows."""

    device: DeviceId = Field(description="the device to command")
    channel: Annotated[
        str, Field(pattern=r"^[A-Za-z][A-Za-z0-9]{0,31}$"), expect("a channel name")
    ] = Field(description="the channel watched (Overall, AC, ...)")
    red_intervals: whole(1, 1440, description="consecutive windows at the level")
    action: Annotated[Literal["on", "off", "set"], expect("one of on, off, set")] = Field(
        description="the command sent"
    )
    setpoint_c: number(-30, 100, description="set commands [°C]") | None = None
    level: Annotated[Literal["yellow", "red", "critical"], expect("yellow, red or critical")] = (
        "red"
    )
    cooldown_min: whole(0, 10_080, description="quiet after firing [min]") = 30

    @model_validator(mode="after")
    def _setpoint(self) -> Rule:
        if (self.action == "set") != (self.setpoint_c is not None):
            raise problem("setpoint_c goes with action set, and only with it", at="setpoint_c")
        return self


class AutomationsDocument(Body):
    """A household's automation rules (``PUT`` replaces them)."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "rules": [
                        {
                            "device": "plug1",
                            "channel": "Overall",
                            "red_intervals": 3,
                            "action": "off",
                        }
                    ]
                }
            ]
        }
    )

    rules: Annotated[
        list[Rule], Field(max_length=MAX_RULES), expect(f"a list of at most {MAX_RULES} rules")
    ] = Field(description="the rules")


class AutomationStore:
    """``control_automations``: each household's rules, in the installation's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def put(self, household: str, rules: list[dict], now_s: float) -> None:
        with self.db.write() as c:
            c.execute(
                sa.text(
                    "INSERT INTO control_automations (household, rules, updated_s)"
                    " VALUES (:h, :rules, :now) ON CONFLICT (household) DO UPDATE SET"
                    " rules = excluded.rules, updated_s = excluded.updated_s"
                ),
                {"h": household, "rules": json.dumps(rules), "now": now_s},
            )

    def get(self, household: str) -> list[dict]:
        with self.db.read() as c:
            row = c.execute(
                sa.text("SELECT rules FROM control_automations WHERE household = :h"),
                {"h": household},
            ).first()
        return [] if row is None else json.loads(row[0])

    def households(self) -> set[str]:
        with self.db.read() as c:
            rows = c.execute(
                sa.text("SELECT household FROM control_automations WHERE rules != '[]'")
            ).all()
        return {h for (h,) in rows}


class Automations:
    """The leader's part: per household and rule, a count of windows at the level."""

    def __init__(self, control: Any) -> None:
        self.control = control
        self.counts: dict[tuple[str, str], int] = {}
        self.quiet_until: dict[tuple[str, str], float] = {}

    def forget(self, household: str | None) -> None:
        """A household was removed: drop its rules' counts and quiet periods."""
        for table in (self.counts, self.quiet_until):
            for key in [k for k in table if household in (None, k[0])]:
                table.pop(key, None)

    def part(self, household: str):  # noqa: ANN201
        def on_window(window: ClassifiedWindow) -> None:
            self.judge(household, window)

        return on_window

    def judge(self, household: str, window: ClassifiedWindow) -> None:
        rules = self.control.automations.get(household)
        now_s = self.control.service.clock()
        for i, raw in enumerate(rules):
            rule = Rule.model_validate(raw, strict=False)
            key = (household, json.dumps(raw, sort_keys=True))
            level = (window.level or {}).get(rule.channel)
            if level is None or RANK.get(level, 0) < RANK[rule.level]:
                self.counts[key] = 0
                continue
            self.counts[key] = self.counts.get(key, 0) + 1
            if self.counts[key] < rule.red_intervals or now_s < self.quiet_until.get(key, 0.0):
                continue
            self.counts[key] = 0
            self.quiet_until[key] = now_s + rule.cooldown_min * 60
            request = CommandRequest(action=rule.action, setpoint_c=rule.setpoint_c)
            try:
                self.control.service.command(
                    household, rule.device, request, source="automation", actor=f"automation:{i}"
                )
            except Exception as err:  # noqa: BLE001 - a removed device: log and go on
                log.warning(
                    "automation %d of %s could not command %s: %s", i, household, rule.device, err
                )
