"""JSON Schemas of the insights' answers and their SSE event, for the OpenAPI document
(gathered by :mod:`server.openapi.schemas`, a wiring point). The request body's schema is
generated from :class:`server.insights.views.TariffDocument`."""

from __future__ import annotations

from typing import Any

__all__ = ["CARBON", "SCHEMAS"]

_TS = {"type": "string", "format": "date-time", "examples": ["2026-11-22T06:00:00Z"]}
_NUM = {"type": ["number", "null"]}
_BAND = {
    "type": "object",
    "required": ["p10", "p50", "p90"],
    "properties": {"p10": _NUM, "p50": _NUM, "p90": _NUM},
}
CARBON = {
    "type": ["object", "null"],
    "description": "grid intensity in use for the household's zone (null: no zone known)",
    "required": ["zone", "g_per_kwh", "source"],
    "properties": {
        "zone": {"type": "string", "examples": ["IN"]},
        "g_per_kwh": {"type": "number", "description": "[g CO2/kWh]"},
        "source": {"type": "string", "description": "the yearly table (named) or the live feed"},
    },
}
_SAVING = {
    "type": "object",
    "required": ["energy_kwh", "money", "co2_kg"],
    "properties": {
        "energy_kwh": {"type": "number"},
        "money": {"type": ["number", "null"], "description": "in the tariff's currency"},
        "co2_kg": {"type": ["number", "null"]},
    },
}

_MODEL = {
    "type": "object",
    "required": ["name", "trained_at", "history_days"],
    "properties": {
        "name": {"type": "string", "enum": ["hgb-quantile", "baseline"]},
        "trained_at": _TS,
        "history_days": {"type": "number"},
        "reason": {"type": "string", "description": "why the baseline is used"},
        "currency": {"type": "string"},
        "tariff": {"type": "string"},
        "carbon": CARBON,
    },
    "additionalProperties": True,
}

SCHEMAS: dict[str, Any] = {
    "Forecast": {
        "type": "object",
        "description": "Hourly demand forecast; `ts` is the start of each UTC hour. An hour's mean "
        "power [kW] is its energy [kWh]. cost: P50 energy at the tariff's price (null without a "
        "tariff); co2_kg: P50 energy at the zone's intensity.",
        "required": ["household", "issued_at", "model", "hours"],
        "properties": {
            "household": {"type": "string"},
            "issued_at": _TS,
            "model": _MODEL,
            "hours": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["ts", "power_kw", "energy_kwh", "cost", "co2_kg"],
                    "properties": {
                        "ts": _TS,
                        "power_kw": _BAND,
                        "energy_kwh": _BAND,
                        "cost": _NUM,
                        "co2_kg": _NUM,
                    },
                },
            },
        },
    },
    "ForecastAccuracy": {
        "type": "object",
        "description": "The day-ahead forecast issued at a local day's midnight (from the readings "
        "before it only) beside the day's metered whole-house energy. hours: the UTC hours that "
        "start within the local day (24; 23 or 25 on a DST change); actual_kwh null where under "
        "half the hour's readings exist (left out of every error). wape_pct = 100 * sum|P50 - "
        "actual| / sum actual over the compared hours (the hourly error weighted by energy); "
        "daily_energy_error_pct = 100 * (sum P50 - sum actual) / sum actual (positive: the "
        "forecast expected more); band_coverage_pct: hours whose actual lies within P10-P90. "
        "Percentages are null when no energy was used.",
        "required": [
            "household",
            "day",
            "timezone",
            "issued_at",
            "model",
            "hours_compared",
            "forecast_kwh",
            "actual_kwh",
            "wape_pct",
            "daily_energy_error_pct",
            "band_coverage_pct",
            "hours",
        ],
        "properties": {
            "household": {"type": "string"},
            "day": {"type": "string", "format": "date", "examples": ["2026-11-21"]},
            "timezone": {"type": "string", "examples": ["Asia/Kolkata"]},
            "issued_at": _TS,
            "model": _MODEL,
            "hours_compared": {"type": "integer", "minimum": 0},
            "forecast_kwh": {**_NUM, "description": "P50 energy of the compared hours [kWh]"},
            "actual_kwh": {**_NUM, "description": "metered energy of the compared hours [kWh]"},
            "wape_pct": _NUM,
            "daily_energy_error_pct": _NUM,
            "band_coverage_pct": _NUM,
            "hours": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["ts", "forecast_kwh", "actual_kwh"],
                    "properties": {"ts": _TS, "forecast_kwh": _BAND, "actual_kwh": _NUM},
                },
            },
        },
    },
    "TariffAnswer": {
        "type": "object",
        "required": ["household", "source", "revision", "updated_at", "tariff"],
        "properties": {
            "household": {"type": "string"},
            "source": {
                "type": "string",
                "enum": ["stored", "default", "none"],
                "description": "stored: PUT for it; default: the demo's INR time-of-use (A/B/C)",
            },
            "revision": {"type": "integer", "minimum": 0, "description": "+1 on every PUT"},
            "updated_at": {"anyOf": [_TS, {"type": "null"}]},
            "tariff": {
                "anyOf": [{"$ref": "#/components/schemas/TariffDocument"}, {"type": "null"}]
            },
        },
    },
    "Recommendation": {
        "type": "object",
        "required": [
            "id",
            "title",
            "detail",
            "evidence",
            "saving_per_month",
            "confidence",
            "action",
        ],
        "properties": {
            "id": {
                "type": "string",
                "examples": ["baseload", "empty-home", "shift-water-heating", "peak-hours"],
            },
            "title": {"type": "string"},
            "detail": {"type": "string"},
            "evidence": {"type": "object", "description": "this household's figures"},
            "saving_per_month": _SAVING,
            "confidence": {"type": "string", "enum": ["low", "medium", "high"]},
            "action": {"type": ["object", "null"], "description": "a schedule or setpoint"},
        },
    },
    "Recommendations": {
        "type": "object",
        "required": [
            "household",
            "as_of",
            "history_days",
            "currency",
            "tariff",
            "carbon",
            "recommendations",
        ],
        "properties": {
            "household": {"type": "string"},
            "as_of": _TS,
            "history_days": {"type": "number"},
            "currency": {"type": ["string", "null"]},
            "tariff": {"type": "string", "enum": ["stored", "default", "none"]},
            "carbon": CARBON,
            "recommendations": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Recommendation"},
            },
            "note": {"type": "string", "description": "why the list is empty"},
        },
    },
    "InsightsEvent": {
        "type": "object",
        "description": "``event: insights`` (no id): the household's forecast and "
        "recommendations were refreshed (new data, the daily refresh, a new tariff); fetch them "
        "again from the links.",
        "required": ["household", "version", "forecast", "recommendations"],
        "properties": {
            "household": {"type": "string"},
            "version": {"type": "integer", "minimum": 1},
            "reason": {"type": "string", "enum": ["data", "daily", "tariff"]},
            "forecast": {"type": "string", "description": "path of the forecast"},
            "recommendations": {"type": "string", "description": "path of the recommendations"},
        },
    },
    "FeedHealth": {
        "type": "object",
        "description": "the live carbon-intensity feed (with CARBON_FEED_URL): ok is false while "
        "its last poll failed (the last good values stay in use)",
        "required": ["ok", "feed", "zones", "last_ok"],
        "properties": {
            "ok": {"type": "boolean"},
            "feed": {"type": "string", "description": "scheme and host"},
            "zones": {"type": "array", "items": {"type": "string"}},
            "last_ok": {"anyOf": [_TS, {"type": "null"}]},
            "error": {"type": "string"},
        },
    },
}
