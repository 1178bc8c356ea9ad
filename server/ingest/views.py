"""``POST /api/v1/households/{h}/readings`` (batch ingest) and ``GET …/readings`` (history).

POST needs the household's API key (``Authorization: Bearer <key>``) and a body
``{"readings": [{"ts": "2026-11-22T06:25:50Z" | 1763792750, "power_kw": {"Overall": 1.2}}, ...]}``
(or per channel: ``{"ts", "channel", "power_kw"}``), at most ``INGEST_MAX_READINGS`` (10,000)
readings and ``MAX_CONTENT_LENGTH`` bytes (413 beyond either). The answer::

    {"accepted": 3, "duplicates": 1, "rejected": [{"index": 2, "channel": "AC", "reason": "..."}]}

is 200 when nothing was refused, 207 when some readings were and others stored, 422 when
everything was refused. Valid readings around bad ones are always stored.

GET ``?from=&to=&resolution=raw|1m|15m|1h|1d[&channels=Overall,AC]`` (ISO 8601 or epoch
seconds; ``to`` defaults to now and ``from`` to ``to`` minus the resolution's default span; each
resolution has a longest range; ``channels`` keeps only those, all by default) answers
``{"household", "resolution", "from", "to", "readings": [{"ts", "power_kw": {...}
[, "min_kw", "max_kw", "count"]}]}``; aggregated rows give the mean as ``power_kw``. It is open
for the demo households in demo mode and needs the key otherwise. Feature packages may add
fields to the answer (``Ingest.history_extras``: the insights add each row's ``energy_kwh``,
``cost`` and ``co2_kg``).
"""

from __future__ import annotations

import json
import math
from typing import Annotated, Any

from flask import Blueprint, Response, current_app, jsonify, request
from pydantic import AwareDatetime, ConfigDict, Field, SkipValidation
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.exc import InterfaceError, OperationalError

from generator.times import format_ts
from server import config
from server.api.params import json_body
from server.auth import require_key, require_read
from server.errors import (
    GridlightError,
    InvalidParameter,
    UnknownHousehold,
)
from server.ingest.validate import InvalidReading, check_batch, parse_timestamp
from server.services import state
from server.storage import RESOLUTIONS
from server.storage.database import DatabaseUnavailable
from server.validation import Body, expect, parse

__all__ = ["MAX_RANGE_S", "Reading", "ReadingBatch", "blueprint"]

DAY_S = 86_400
#: Longest ``to - from`` per resolution, and the span used when ``from`` is absent. [s]
MAX_RANGE_S = {
    "raw": DAY_S,
    "1m": 7 * DAY_S,
    "15m": 31 * DAY_S,
    "1h": 366 * DAY_S,
    "1d": 5 * 366 * DAY_S,
}
#: ``from``/``to`` bounds: 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z. [epoch s]
TS_MIN_S, TS_MAX_S = 0, 253_402_300_799
DEFAULT_SPAN_S = {"raw": 3600, "1m": DAY_S, "15m": 7 * DAY_S, "1h": 31 * DAY_S, "1d": 366 * DAY_S}


class Reading(Body):
    """One reading: every channel at `ts`, or one channel (with `channel`)."""

    model_config = ConfigDict(extra="ignore")

    ts: AwareDatetime | Annotated[float, Field(description="epoch seconds")] = Field(
        description="ISO 8601 with a zone, or epoch seconds (floored to the second)",
        examples=["2026-11-22T06:25:50Z"],
    )
    channel: SkipJsonSchema[None] | str = Field(
        default=None,
        description="the one channel of power_kw (then a number)",
        json_schema_extra=lambda schema: schema.pop("default", None),
    )
    power_kw: (
        Annotated[dict[str, float | None], Field(description="average power per channel [kW]")]
        | Annotated[float | None, Field(description="with channel [kW]")]
    ) = Field(description="null: the channel is unavailable (never 0)")


class ReadingBatch(Body):
    """A batch of readings. Each reading, and each channel value, is checked on its own (in
    server.ingest.validate.check_reading, as MQTT's are): a bad one is reported in `rejected`
    and the valid ones around it are stored. More readings than the server's limit (by default
    maxItems) answer 413."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={
            "examples": [
                {
                    "readings": [
                        {"ts": "2026-11-22T06:25:50Z", "power_kw": {"AC": 1.5, "Overall": 2.31}},
                        {"ts": 1763792751, "channel": "Geyser", "power_kw": 0.0},
                    ]
                }
            ]
        },
    )

    readings: Annotated[
        list[SkipValidation[Reading]],
        Field(
            description="a list of readings",
            json_schema_extra={"maxItems": config.INGEST_MAX_READINGS},
        ),
        expect("a list of readings"),
    ]


class PayloadTooLarge(GridlightError):
    status = 413
    code = "payload_too_large"


def _ingest():  # noqa: ANN202
    return current_app.extensions["gridlight_ingest"]


def post_readings(household: str) -> tuple[Response, int]:
    ing = _ingest()
    cfg = current_app.config
    channels = ing.ingestor.channels_of(household)
    if channels is None:
        raise UnknownHousehold(
            f"household {household!r} is not registered for ingest: register it with "
            f"'python -m server households add {household} --channels ...'"
        )
    require_key(household, meter=True)  # a meter's readings: its key only
    ing.ingestor.require_collection(household)  # 403 consent_required: nothing stored
    request.max_content_length = int(cfg["INGEST_MAX_BODY_BYTES"])
    readings: list[object] = parse(ReadingBatch, json_body()).readings
    limit = int(cfg["INGEST_MAX_READINGS"])
    if len(readings) > limit:
        raise PayloadTooLarge(
            f"{len(readings)} readings in one request; at most {limit} (split the batch)"
        )
    now = ing.ingestor.clock()
    checked = check_batch(household, channels, readings, now, ing.ingestor.max_age_s)
    if checked.rejected:
        bad = sorted({r.index for r in checked.rejected})
        sample = json.dumps([readings[i] for i in bad[:50]], default=str)
        reasons = "; ".join(f"[{r.index}] {r.reason}" for r in checked.rejected[:20])
        ing.ingestor.reject("http", household, reasons, sample, len(checked.rejected))
    try:
        result = ing.ingestor.write(checked.rows) if checked.rows else None
    except (OperationalError, InterfaceError) as err:
        # down, restarting, or locked beyond the busy timeout: nothing was stored, the client
        # retries (503 database_unavailable with Retry-After, as every route answers it)
        raise DatabaseUnavailable(str(err)) from err
    accepted = result.accepted if result else 0
    out = {
        "accepted": accepted,
        "duplicates": result.duplicates if result else 0,
        "rejected": [r.to_json() for r in checked.rejected],
    }
    if not checked.rejected:
        status = 200
    elif checked.rows:
        status = 207
    else:
        status = 422
    return jsonify(out), status


def _time_arg(name: str, raw: str | None, default: int) -> int:
    if raw is None or raw.strip() == "":
        return default
    text = raw.strip()
    try:
        value: Any = float(text) if text.lstrip("+-").replace(".", "", 1).isdigit() else text
        value_s = parse_timestamp(value)
    except InvalidReading as err:
        raise InvalidParameter(f"{name}: {err}".replace("ts ", "", 1)) from None
    if not TS_MIN_S <= value_s <= TS_MAX_S:  # e.g. 99999999999999999999 overflowed SQLite
        raise InvalidParameter(f"{name}: {raw!r} is outside the years 1970-9999")
    return value_s


def _number(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return None if math.isnan(value) else round(value, 6)


def get_readings(household: str) -> Response:
    gl = state()
    ing = _ingest()
    info = gl.households.info(household)
    require_read(household)
    resolution = request.args.get("resolution", "1m")
    if resolution not in RESOLUTIONS:
        raise InvalidParameter(
            f"resolution must be one of {', '.join(RESOLUTIONS)}, got {resolution!r}"
        )
    now = int(ing.ingestor.clock())
    end_s = _time_arg("to", request.args.get("to"), now + 1)
    start_s = _time_arg("from", request.args.get("from"), end_s - DEFAULT_SPAN_S[resolution])
    if end_s <= start_s:
        raise InvalidParameter(f"to ({format_ts(end_s)}) must be after from ({format_ts(start_s)})")
    if end_s - start_s > MAX_RANGE_S[resolution]:
        raise InvalidParameter(
            f"a {resolution} query spans at most {MAX_RANGE_S[resolution]} s, got "
            f"{end_s - start_s} s: narrow from/to or choose a coarser resolution"
        )
    wanted = _channels_arg(request.args.get("channels"), info)
    if _replayed(household):
        # a demo household is not metered: its history is what the replay publishes, up to now
        replayed = gl.households.replayed_history(household)
        stop = min(end_s, now + 1)
        frame = replayed.query(start_s, max(stop, start_s + 1), resolution)
        if stop <= start_s:  # all of it still to come
            frame = frame.iloc[0:0]
    else:
        frame = ing.store.query(household, start_s, end_s, resolution, timezone=info.timezone)
    if wanted is not None:
        frame = frame.loc[:, frame.columns.get_level_values(0).isin(wanted)]
    rows: list[dict[str, Any]] = []
    seconds = frame.index.as_unit("s").asi8 if len(frame.index) else []
    if resolution == "raw":
        for ts_s, values in zip(seconds, frame.itertuples(index=False, name=None), strict=True):
            power = {c: _number(v) for c, v in zip(frame.columns, values, strict=True)}
            rows.append({"ts": format_ts(int(ts_s)), "power_kw": power})
    else:
        channels = list(dict.fromkeys(c for c, _ in frame.columns))
        for i, ts_s in enumerate(seconds):
            row: dict[str, Any] = {"ts": format_ts(int(ts_s))}
            for stat, key in (("mean_kw", "power_kw"), ("min_kw", "min_kw"), ("max_kw", "max_kw")):
                row[key] = {c: _number(frame[(c, stat)].iloc[i]) for c in channels}
            row["count"] = {
                c: int(v) if not math.isnan(v := float(frame[(c, "count")].iloc[i])) else 0
                for c in channels
            }
            rows.append(row)
    body: dict[str, Any] = {
        "household": household,
        "resolution": resolution,
        "from": format_ts(start_s),
        "to": format_ts(end_s),
        "readings": rows,
    }
    estimated = [c for c in info.estimated if wanted is None or c in wanted]
    if estimated:  # channels estimated from the whole-house meter (a live model's)
        body["estimated"] = estimated
    for extra in ing.history_extras:  # features add to the rows (insights: cost and co2_kg)
        extra(info, resolution, start_s, end_s, frame, body)
    return jsonify(body)


def _channels_arg(raw: str | None, info: Any) -> list[str] | None:
    """``?channels=Overall,AC``: the channels to answer with (``None``: all of them)."""
    if raw is None:
        return None
    wanted = list(dict.fromkeys(c.strip() for c in raw.split(",") if c.strip()))
    if not wanted:
        raise InvalidParameter("channels must name at least one channel, e.g. channels=Overall")
    unknown = [c for c in wanted if c not in info.channels]
    if unknown:
        raise InvalidParameter(
            f"channels: {', '.join(map(repr, unknown))} not among {info.id}'s channels "
            f"({', '.join(info.channels)})"
        )
    return wanted


def _replayed(household: str) -> bool:
    """Whether ``household`` is one the demo replays (not metered, nothing of it stored)."""
    cfg = current_app.config
    if not cfg["DEMO"] or household not in cfg["DEMO_HOUSEHOLDS"]:
        return False
    path = state().households.dataset_path(household)
    return path is not None and path.name == cfg["DEMO_DATASET"]


def blueprint() -> Blueprint:
    bp = Blueprint("ingest", __name__, url_prefix="/api/v1")
    bp.add_url_rule("/households/<household>/readings", view_func=post_readings, methods=["POST"])
    bp.add_url_rule("/households/<household>/readings", view_func=get_readings, methods=["GET"])
    return bp
