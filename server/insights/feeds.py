"""The live carbon-intensity feed: an HTTP JSON document polled by every worker.

``CARBON_FEED_URL`` names it; every ``CARBON_FEED_EVERY_S`` each worker fetches it (timeout
``CARBON_FEED_TIMEOUT_S``) and stores its values in the worker's
:class:`~server.insights.carbon.CarbonIntensity`, which then answers them instead of the shipped
yearly averages. Accepted documents (intensities in g CO2/kWh)::

    {"zones": {"IN": 690.5, "FR": 52}, "at": "2026-11-22T06:00:00Z"}
    {"zone": "FR", "g_per_kwh": 52}            (or "carbonIntensity", Electricity Maps' name)
    [{"zone": "IN", "g_per_kwh": 690.5}, ...]

A feed that cannot be reached, or answers something else, changes nothing: the last good values
stay in use, the zones it served are marked failing, and ``/healthz`` reports
``"carbon_feed": {"ok": false, ...}`` with ``"status": "degraded"`` (still 200) until a poll
works again. Never a 500.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from server.insights.carbon import CarbonIntensity
from server.insights.errors import CarbonError
from server.leases import Periodic

__all__ = ["CarbonFeed", "parse_feed"]

log = logging.getLogger(__name__)
MAX_BYTES = 1 << 20


def _fetch(url: str, timeout_s: float) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310 - configured
        return json.loads(response.read(MAX_BYTES + 1)[:MAX_BYTES])


def parse_feed(doc: Any) -> dict[str, float]:
    """zone → intensity [g CO2/kWh] of a feed document; :class:`CarbonError` if none."""
    out: dict[str, float] = {}
    items: list[Any]
    if isinstance(doc, dict) and isinstance(doc.get("zones"), dict):
        items = [{"zone": z, "g_per_kwh": v} for z, v in doc["zones"].items()]
    elif isinstance(doc, dict):
        items = [doc]
    elif isinstance(doc, list):
        items = doc
    else:
        raise CarbonError(f"carbon feed: expected a JSON object or list, got {type(doc).__name__}")
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("zone"), str):
            raise CarbonError(f"carbon feed: an entry without a zone: {str(item)[:80]}")
        value = item.get("g_per_kwh", item.get("carbonIntensity"))
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CarbonError(f"carbon feed: zone {item['zone']!r} has no number: {value!r}")
        out[item["zone"].upper()] = float(value)
    if not out:
        raise CarbonError("carbon feed: no zone in the document")
    return out


class CarbonFeed:
    """Polls the feed into ``carbon`` (a services job of every worker; see the module doc)."""

    def __init__(
        self,
        url: str,
        carbon: CarbonIntensity,
        *,
        every_s: float = 300.0,
        timeout_s: float = 10.0,
        fetch: Callable[[str, float], Any] = _fetch,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.url = url
        self.carbon = carbon
        self.every_s = float(every_s)
        self.timeout_s = float(timeout_s)
        self.fetch = fetch
        self.clock = clock
        self.zones: set[str] = set()
        self.ok: bool | None = None  # None: not polled yet
        self.error: str | None = None
        self.last_ok_s: float | None = None
        self.polls = 0
        self.job = Periodic("carbon-feed", self.poll, self.every_s)

    def start(self) -> None:
        self.job.start()

    def stop(self) -> None:
        self.job.stop()

    def poll(self) -> bool:
        """Fetch once; True when new values are in use."""
        self.polls += 1
        now_s = self.clock()
        try:
            values = parse_feed(self.fetch(self.url, self.timeout_s))
            at = dt.datetime.fromtimestamp(now_s, dt.UTC)
            for zone, g in values.items():
                self.carbon.update(zone, g, at)
        except (OSError, ValueError, urllib.error.URLError) as err:  # CarbonError is a ValueError
            self.ok = False
            self.error = f"{type(err).__name__}: {err}"[:300]
            for zone in self.zones or {"*"}:
                self.carbon.failed(zone, self.error)
            log.warning("carbon feed %s failed (last good values kept): %s", self.where, self.error)
            return False
        self.zones |= set(values)
        self.ok, self.error, self.last_ok_s = True, None, now_s
        return True

    @property
    def where(self) -> str:
        """The feed's scheme and host (never its path or query: they may hold a token)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")

    def health(self) -> dict[str, Any]:
        """For ``/healthz``: ``ok`` is false while the last poll failed."""
        out: dict[str, Any] = {
            "ok": self.ok is not False,
            "feed": self.where,
            "zones": sorted(self.zones),
            "last_ok": None
            if self.last_ok_s is None
            else dt.datetime.fromtimestamp(self.last_ok_s, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        if self.error:
            out["error"] = self.error
        return out
