"""``GET …/forecast``, ``GET …/forecast/accuracy``, ``GET|PUT …/tariff`` and
``GET …/recommendations`` of a household.

* Reads follow :func:`server.auth.require_read` (open for the demo households in demo mode, else
  the household's key); ``PUT …/tariff`` always needs the key.
* ``?horizon_h=`` is a whole number of hours in 1-168 (default 24), else 400.
* ``?day=`` of ``…/forecast/accuracy`` is a date ``YYYY-MM-DD`` (default: yesterday in the
  household's zone; for a dataset household its last day); a day not over yet is 400.
* A tariff body is checked twice: its shape by :class:`TariffDocument` (whose JSON Schema is the
  OpenAPI document's), its sense by :meth:`Tariff.from_json
  <server.insights.tariff.Tariff.from_json>` (overlapping or missing periods, negative prices,
  an unknown currency: 400 naming the problem).
* A live household without a complete hour of whole-house readings: the forecast answers 409
  ``not_enough_history``; recommendations answer 200 with an empty list and a ``note``.
* The first request for a household waits for its readings to be read (at most
  ``INSIGHTS_WAIT_S``, then 503 with ``Retry-After``), never for a model fit: until the
  household's gradient-boosted model is fitted, the forecast is the same-hour baseline and its
  ``model.reason`` says so.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from flask import Blueprint, current_app, jsonify, request
from pydantic import ConfigDict, Field

from server.auth import require_key, require_read
from server.errors import ConsentRequired, InvalidParameter
from server.insights.errors import InsightsError, TariffError
from server.insights.forecast import check_horizon
from server.insights.tariff import Tariff
from server.validation import Body, expect, number, parse

__all__ = ["DynamicPrice", "TariffDocument", "TariffPeriod", "blueprint"]

CLOCK = r"^([01][0-9]|2[0-4]):[0-5][0-9]$"
Clock = Annotated[str, Field(pattern=CLOCK, examples=["22:00"]), expect("a time 'HH:MM'")]


class TariffPeriod(Body):
    """A time-of-use period: local wall-clock [start, end) on weekdays, weekends or all days;
    it may wrap past midnight (22:00-06:00); end may be 24:00."""

    name: str | None = Field(default=None, max_length=60, description="e.g. 'night'")
    days: Literal["weekday", "weekend", "all"] = "all"
    start: Clock = Field(description="local start, HH:MM")
    end: Clock = Field(description="local end, HH:MM (24:00 allowed)")
    price_per_kwh: number(0, 1e6, description="price of energy [currency/kWh]")


class DynamicPrice(Body):
    """The price of one UTC hour."""

    ts: Annotated[
        str, Field(json_schema_extra={"format": "date-time"}), expect("an ISO 8601 time")
    ] = Field(description="start of the hour, ISO 8601 (UTC)")
    price_per_kwh: number(-1e6, 1e6, description="[currency/kWh]; may be negative")


class TariffDocument(Body):
    """A household's electricity tariff: flat (price_per_kwh), time-of-use (periods covering
    every minute of weekdays and weekends once, in the household's local time unless timezone
    says otherwise) or dynamic (prices per UTC hour); a standing charge per day; an ISO 4217
    currency. What GET answers can be PUT back."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": "flat",
                    "name": "Standard flat rate",
                    "currency": "EUR",
                    "price_per_kwh": 0.25,
                    "standing_charge_per_day": 0.4,
                },
                {
                    "type": "tou",
                    "currency": "INR",
                    "standing_charge_per_day": 4,
                    "periods": [
                        {"name": "night", "start": "22:00", "end": "06:00", "price_per_kwh": 6.3},
                        {"name": "day", "start": "06:00", "end": "22:00", "price_per_kwh": 8.4},
                    ],
                },
            ]
        }
    )

    type: Literal["flat", "tou", "time_of_use", "dynamic"] = Field(
        description="flat, tou (time of use) or dynamic"
    )
    name: str | None = Field(default=None, max_length=80, description="shown in answers")
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$"), expect("an ISO 4217 code")] = Field(
        description="ISO 4217 code: INR, EUR, GBP, ..."
    )
    standing_charge_per_day: number(0, 1e6, description="[currency/day]") = 0.0
    price_per_kwh: number(0, 1e6, description="flat: the price [currency/kWh]") | None = None
    timezone: str | None = Field(
        default=None, description="tou: IANA zone of the periods (default: the household's)"
    )
    periods: list[TariffPeriod] | None = Field(
        default=None, min_length=1, max_length=96, description="tou: the periods"
    )
    prices: list[DynamicPrice] | None = Field(
        default=None, min_length=1, max_length=24 * 800, description="dynamic: hourly prices"
    )
    feed: bool | None = Field(
        default=None,
        description="dynamic: true to take the hourly prices from the installation's price feed",
    )


def _gl():  # noqa: ANN202
    return current_app.extensions["gridlight"]


def _service():  # noqa: ANN202
    return current_app.extensions["insights"].service


def _consent(household: str, purpose: str, what: str) -> None:
    refusal = _gl().consent.refusal(household, purpose, what)
    if refusal is not None:
        raise ConsentRequired(refusal)


def _known(household: str) -> Any:
    return _gl().households.info(household)  # UnknownHousehold: 404


def get_forecast(household: str):  # noqa: ANN201
    _known(household)
    require_read(household)
    _consent(household, "analytics", "no forecast is made for it")
    raw = request.args.get("horizon_h", "24")
    try:
        horizon_h = check_horizon(raw.strip())
    except InsightsError as err:
        raise InvalidParameter(str(err)) from None
    return jsonify(_service().forecast(household, horizon_h))


DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")
#: The earliest ``?day=`` (readings are epoch seconds).
FIRST_DAY = dt.date(1970, 1, 2)


def parse_day(raw: str | None) -> dt.date | None:
    """``?day=``: ``None`` when absent, else a calendar date ``YYYY-MM-DD`` (400 otherwise)."""
    if raw is None:
        return None
    value = raw.strip()
    try:
        if not DAY.match(value):
            raise ValueError
        day = dt.date.fromisoformat(value)
    except ValueError:
        raise InvalidParameter(
            f"day must be a date YYYY-MM-DD (e.g. 2026-11-21), got {raw[:40]!r}"
        ) from None
    if day < FIRST_DAY:
        raise InvalidParameter(f"day must be {FIRST_DAY.isoformat()} or later, got {value!r}")
    return day


def get_forecast_accuracy(household: str):  # noqa: ANN201
    _known(household)
    require_read(household)
    _consent(household, "analytics", "no forecast is made for it")
    day = parse_day(request.args.get("day"))
    return jsonify(_service().accuracy(household, day))


def _tariff_answer(household: str) -> dict[str, Any]:
    service = _service()
    tariff, source, revision = service.tariff(household)
    stored = service.tariffs.get(household) if source == "stored" else None
    return {
        "household": household,
        "source": source,
        "revision": revision,
        "updated_at": None if stored is None else _iso(stored.updated_s),
        "tariff": None if tariff is None else tariff.to_json(),
    }


def _iso(epoch_s: float) -> str:
    from generator.times import format_ts

    return format_ts(int(epoch_s))


def get_tariff(household: str):  # noqa: ANN201
    _known(household)
    require_read(household)
    return jsonify(_tariff_answer(household))


def put_tariff(household: str):  # noqa: ANN201
    info = _known(household)
    require_key(household)
    body = request.get_json(silent=True)
    if body is None:
        raise InvalidParameter("body: expected a JSON object (a tariff document)")
    parse(TariffDocument, body)
    try:
        tariff = Tariff.from_json(body, timezone=info.timezone)
        if getattr(tariff, "feed", False) and _service().price_feed is None:
            raise TariffError("feed: this installation has no price feed (PRICE_FEED_URL)")
    except InsightsError as err:
        raise InvalidParameter(f"tariff: {err}") from None
    current_app.extensions["insights"].put_tariff(household, tariff)
    return jsonify(_tariff_answer(household))


def get_recommendations(household: str):  # noqa: ANN201
    _known(household)
    require_read(household)
    _consent(household, "recommendations", "no recommendations are made for it")
    return jsonify(_service().recommendations(household))


def blueprint() -> Blueprint:
    bp = Blueprint("insights", __name__, url_prefix="/api/v1/households")
    bp.add_url_rule("/<household>/forecast", view_func=get_forecast, methods=["GET"])
    bp.add_url_rule(
        "/<household>/forecast/accuracy", view_func=get_forecast_accuracy, methods=["GET"]
    )
    bp.add_url_rule("/<household>/tariff", view_func=get_tariff, methods=["GET"])
    bp.add_url_rule("/<household>/tariff", view_func=put_tariff, methods=["PUT"])
    bp.add_url_rule("/<household>/recommendations", view_func=get_recommendations, methods=["GET"])
    return bp
