"""Automations end to end from crafted windows: PUT the rule, the leader follows the household,
three red windows in a row send the command once, a green one resets, the cooldown holds."""

from __future__ import annotations

from server.streaming.classified import ClassifiedWindow
from tests.server.control.conftest import PLUG, T0, auth

URL = "/api/v1/households/H1/automations"
RULE = {"device": "plug1", "channel": "Overall", "red_intervals": 3, "action": "off"}


def window(i: int, level: str | None) -> ClassifiedWindow:
    levels = None if level is None else {"AC": "green", "Geyser": "green", "Overall": level}
    return ClassifiedWindow(
        "H1", 60, int(T0) + 60 * i, {"AC": 0.1, "Geyser": 0.0, "Overall": 4.0}, levels,
        level, str(i),
    )  # fmt: skip


def test_three_red_windows_turn_the_plug_off_once(make_app, h1_key):  # noqa: ANN001
    app = make_app()
    client = app.test_client()
    client.put("/api/v1/households/H1/controls", json={"devices": [PLUG]}, headers=auth(h1_key))
    assert client.put(URL, json={"rules": [RULE]}).status_code == 401
    r = client.put(URL, json={"rules": [RULE]}, headers=auth(h1_key))
    assert r.status_code == 200, r.json
    assert client.get(URL, headers=auth(h1_key)).json["rules"][0]["cooldown_min"] == 30
    bad = client.put(URL, json={"rules": [{**RULE, "red_intervals": 0}]}, headers=auth(h1_key))
    assert bad.status_code == 400
    assert bad.json["error"]["message"].startswith("rules[0].red_intervals: expected a whole")
    ext = app.extensions["control"]
    ext.leader.sync()
    assert "H1" in ext.leader.followers.followings  # the leader follows it now
    listener = ext.leader.followers.listener("H1")
    commands = ext.service.commands

    def offs() -> list:
        return [a for a in commands.audit("H1") if a["event"] == "created"]

    for i, level in enumerate(["red", "red", "green", "red", "red", None, "red", "yellow"]):
        listener.on_window(window(i, level))
    assert offs() == []  # never three in a row
    for i, level in enumerate(["red", "critical", "red", "red", "red"]):
        ext.clock.now_s = T0 + 60 * i
        listener.on_window(window(10 + i, level))
    (created,) = offs()  # once: the cooldown (30 min) holds the later red windows
    assert created["actor"] == "automation:0"
    command = commands.get("H1", created["command_id"])
    assert (command.action, command.source, command.device) == ("off", "automation", "plug1")
    ext.clock.now_s = T0 + 120 + 30 * 60  # the cooldown since it fired is over
    for i in range(3):
        listener.on_window(window(20 + i, "red"))
    assert len(offs()) == 2
