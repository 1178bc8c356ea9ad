"""``python -m server export anonymized --out DIR [--k 5]``: a research data set of the live
households whose owners consented to ``sharing``, anonymised.

* ids replaced: each household gets a random pseudonym (``p01``, ``p02``, … in a random order,
  not derived from its id, so the mapping exists nowhere); names, keys, people, settings and
  devices are left out;
* timestamps coarsened to the hour: each channel's readings become hourly means (``hour`` is
  the UTC start of the hour, ``power_kw`` the mean of the readings with a value, ``readings``
  how many there were);
* households grouped by (zone, archetype): the zone is the area of the IANA time zone
  (``Europe`` for ``Europe/Paris``; ``UTC`` stays ``UTC``), the archetype ``live`` for meters'
  households; only groups of at least ``k`` households are kept (k-anonymity on these
  attributes), the others are dropped whole.

Writes ``households.csv`` (pseudonym, zone, archetype, channels), ``readings.csv`` (pseudonym,
channel, hour, power_kw, readings) and ``manifest.json`` (k, the groups kept with their sizes,
how many households were dropped and why; no id).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from generator.times import format_ts
from server.cli import CommandError
from server.storage.consent import ConsentStore
from server.storage.database import Database, command_database
from server.storage.keys import KeyStore

__all__ = ["export_anonymized", "register", "zone_of"]

HOUR_S = 3600


def zone_of(timezone: str) -> str:
    """The area of an IANA zone name: ``Europe/Paris`` → ``Europe``."""
    return timezone.split("/", 1)[0]


def export_anonymized(
    db: Database, out: Path, *, k: int = 5, rng: random.Random | None = None
) -> dict[str, Any]:
    """Write the data set under ``out`` (see the module doc); its manifest."""
    if k < 2:
        raise ValueError(f"k must be at least 2, got {k}")
    rng = rng or random.SystemRandom()
    households = KeyStore(db).list()
    consent = ConsentStore(db, version="")
    refused = consent.without("sharing", [h.id for h in households])
    groups: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for info in households:
        if info.id not in refused:
            groups[(zone_of(info.timezone), "live")].append(info)
    kept = {g: members for g, members in groups.items() if len(members) >= k}
    chosen = [info for members in kept.values() for info in members]
    rng.shuffle(chosen)
    width = max(2, len(str(len(chosen))))
    pseudonym = {info.id: f"p{i:0{width}d}" for i, info in enumerate(chosen, start=1)}
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "households.csv", "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["household", "zone", "archetype", "channels"])
        for info in sorted(chosen, key=lambda i: pseudonym[i.id]):
            w.writerow([pseudonym[info.id], zone_of(info.timezone), "live", len(info.channels)])
    rows = 0
    with open(out / "readings.csv", "w", newline="", encoding="utf-8") as f, db.read() as c:
        w = csv.writer(f)
        w.writerow(["household", "channel", "hour", "power_kw", "readings"])
        for info in sorted(chosen, key=lambda i: pseudonym[i.id]):
            result = c.execute(
                sa.text(
                    "SELECT channel, ts_s - (ts_s % :h) AS hour, avg(power_kw), count(power_kw)"
                    " FROM readings WHERE household = :id"
                    " GROUP BY channel, ts_s - (ts_s % :h) ORDER BY hour, channel"
                ),
                {"h": HOUR_S, "id": info.id},
            )
            for channel, hour, mean_kw, n in result:
                w.writerow(
                    [
                        pseudonym[info.id],
                        channel,
                        format_ts(int(hour)),
                        "" if mean_kw is None else round(float(mean_kw), 6),
                        int(n),
                    ]
                )
                rows += 1
    manifest = {
        "k": k,
        "timestamps": "UTC hours (hourly means)",
        "groups": [
            {"zone": zone, "archetype": archetype, "households": len(members)}
            for (zone, archetype), members in sorted(kept.items())
        ],
        "households": len(chosen),
        "readings_rows": rows,
        "dropped": {
            "no_sharing_consent": len(refused),
            "group_smaller_than_k": sum(len(m) for g, m in groups.items() if g not in kept),
        },
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return manifest


def _run(args: argparse.Namespace) -> int:
    if args.k < 2:
        raise CommandError(f"--k must be at least 2, got {args.k}")
    db = command_database(args.data_dir)
    try:
        manifest = export_anonymized(db, Path(args.out), k=args.k)
    finally:
        db.dispose()
    print(
        f"wrote {manifest['households']} households in {len(manifest['groups'])} groups "
        f"(k={args.k}) and {manifest['readings_rows']} hourly rows to {args.out}; dropped "
        f"{manifest['dropped']['no_sharing_consent']} without sharing consent and "
        f"{manifest['dropped']['group_smaller_than_k']} in groups smaller than k"
    )
    return 0


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    export = sub.add_parser("export", help="export data sets")
    esub = export.add_subparsers(dest="action", required=True, metavar="ACTION")
    anon = esub.add_parser(
        "anonymized",
        help="research data set: pseudonyms, hourly means, groups of at least k households",
    )
    anon.add_argument("--out", required=True, help="output directory")
    anon.add_argument("--k", type=int, default=5, help="smallest group kept (default 5)")
    anon.add_argument("--data-dir", help="data directory (default: $GRIDLIGHT_DATA_DIR or data/)")
    anon.set_defaults(func=_run)
