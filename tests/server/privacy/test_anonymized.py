"""``python -m server export anonymized``: pseudonyms instead of ids, hourly timestamps, only
consenting households in groups of at least k (zone, archetype)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest

from server.cli import main as server_main
from server.storage import KeyStore
from server.storage.consent import ConsentStore
from server.storage.database import DB_FILE, open_database
from server.storage.readings import Reading, ReadingStore

T0 = 1_790_000_000 - 1_790_000_000 % 3600 + 600  # 10 minutes past an hour


def make_households(data_dir: Path) -> dict[str, float]:
    db = open_database(f"sqlite:///{data_dir / DB_FILE}")
    try:
        keys, consent = KeyStore(db), ConsentStore(db, version="v1")
        readings = ReadingStore(db, raw_retention_s=10**9, rollup_retention_s=10**9)
        plan = [(f"paris-{i}", "Europe/Paris") for i in range(4)]
        plan += [("berlin-1", "Europe/Berlin"), ("lonely-kolkata", "Asia/Kolkata")]
        plan += [("tokyo-1", "Asia/Tokyo"), ("no-consent", "Europe/Rome")]
        means = {}
        for n, (household, tz) in enumerate(plan):
            keys.add_household(household, ["Overall"], timezone=tz)
            if household != "no-consent":
                consent.set(household, {"sharing": True}, user_id=None, source="cli")
            values = [0.5 + n, 1.5 + n, 2.5 + n]  # three readings in one hour
            readings.write(
                [Reading(household, "Overall", T0 + 60 * i, v) for i, v in enumerate(values)]
            )
            means[household] = float(np.mean(values))
        return means
    finally:
        db.dispose()


def test_only_groups_of_k_consenting_households_with_pseudonyms_and_hours(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
):
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    means = make_households(data_dir)
    out = tmp_path / "research"
    assert (
        server_main(
            ["export", "anonymized", "--out", str(out), "--k", "5", "--data-dir", str(data_dir)]
        )
        == 0
    )
    assert "5 households in 1 groups" in capsys.readouterr().out
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["groups"] == [{"zone": "Europe", "archetype": "live", "households": 5}]
    assert manifest["dropped"] == {"no_sharing_consent": 1, "group_smaller_than_k": 2}
    households = list(csv.DictReader(io.StringIO((out / "households.csv").read_text())))
    rows = list(csv.DictReader(io.StringIO((out / "readings.csv").read_text())))
    assert len(households) == 5 and {h["zone"] for h in households} == {"Europe"}
    assert sorted(h["household"] for h in households) == [f"p{i:02d}" for i in range(1, 6)]
    text = "".join(p.read_text() for p in out.iterdir())
    for original in [*means, "Paris", "Berlin", "Kolkata", "Tokyo", "Rome"]:
        assert original not in text  # no id, no city
    hour = T0 - T0 % 3600
    assert len(rows) == 5
    for row in rows:
        assert row["hour"].endswith(":00:00Z") and row["readings"] == "3"
    from generator.times import format_ts

    assert {r["hour"] for r in rows} == {format_ts(hour)}
    europe = [h for h in means if h.startswith(("paris", "berlin"))]
    np.testing.assert_allclose(
        sorted(float(r["power_kw"]) for r in rows), sorted(means[h] for h in europe)
    )
    # with k = 2 the Asian pair is a group too; k below 2 is refused
    assert (
        server_main(
            [
                "export",
                "anonymized",
                "--out",
                str(tmp_path / "k2"),
                "--k",
                "2",
                "--data-dir",
                str(data_dir),
            ]
        )
        == 0
    )
    groups = json.loads((tmp_path / "k2" / "manifest.json").read_text())["groups"]
    assert [g["zone"] for g in groups] == ["Asia", "Europe"]
    assert (
        server_main(
            ["export", "anonymized", "--out", str(out), "--k", "1", "--data-dir", str(data_dir)]
        )
        == 2
    )
