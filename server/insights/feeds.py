"""Live feeds polled by every worker: the carbon intensity (:class:`CarbonFeed`) and the
hourly electricity prices of dynamic tariffs (:class:`PriceFeed`).

Carbon intensity: an HTTP JSON document.

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

from generator.times import format_ts
from server.insights.carbon import CarbonIntensity
from server.insights.errors import CarbonError
from server.leases import Periodic

__all__ = ["CarbonFeed", "PriceFeed", "parse_feed", "parse_prices"]

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


def _utc(epoch_s: float | None) -> str | None:
    return None if epoch_s is None else format_ts(int(epoch_s))


def _where(source: str) -> str:
    """A feed's scheme and host, or "file" (never its path or query: they may hold a token)."""
    parts = urlsplit(source)
    if parts.scheme not in ("http", "https"):
        return "file"
    return f"{parts.scheme}://{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")


class _PolledFeed:
    """What both polled feeds share: a periodic job (a services job of every worker), the state
    of the last poll, and its part of ``/healthz``. Subclasses poll with :meth:`_failed` /
    :meth:`_succeeded`."""

    name = "feed"

    def __init__(
        self, source: str, every_s: float, timeout_s: float, clock: Callable[[], float]
    ) -> None:
        self.source = source
        self.every_s = float(every_s)
        self.timeout_s = float(timeout_s)
        self.clock = clock
        self.ok: bool | None = None  # None: not polled yet
        self.error: str | None = None
        self.last_ok_s: float | None = None
        self.polls = 0
        self.job = Periodic(self.name, self.poll, self.every_s)

    def poll(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        self.job.start()

    def stop(self) -> None:
        self.job.stop()

    @property
    def where(self) -> str:
        return _where(self.source)

    def _failed(self, err: Exception) -> None:
        self.ok = False
        self.error = f"{type(err).__name__}: {err}"[:300]
        log.warning("%s %s failed (last good values kept): %s", self.name, self.where, self.error)

    def _succeeded(self, now_s: float) -> None:
        self.ok, self.error, self.last_ok_s = True, None, now_s

    def health(self) -> dict[str, Any]:
        """For ``/healthz``: ``ok`` is false while the last poll failed."""
        out: dict[str, Any] = {"ok": self.ok is not False, "feed": self.where}
        out.update(self._details())
        out["last_ok"] = _utc(self.last_ok_s)
        if self.error:
            out["error"] = self.error
        return out

    def _details(self) -> dict[str, Any]:
        return {}


class CarbonFeed(_PolledFeed):
    """Polls the feed into ``carbon`` (a services job of every worker; see the module doc)."""

    name = "carbon-feed"

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
        self.fetch = fetch
        self.zones: set[str] = set()
        super().__init__(url, every_s, timeout_s, clock)

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
            self._failed(err)
            for zone in self.zones or {"*"}:
                self.carbon.failed(zone, self.error or "")
            return False
        self.zones |= set(values)
        self._succeeded(now_s)
        return True

    def _details(self) -> dict[str, Any]:
        return {"zones": sorted(self.zones)}


# -- prices ---------------------------------------------------------------------------------------
#: Span of prices a price feed keeps before its newest hour: older ones are dropped.
PRICE_KEEP_S = 40 * 86_400


def _read_prices(source: str, timeout_s: float) -> tuple[bytes, bool]:
    """The feed's bytes and whether they are CSV (by content type or a ``.csv`` path)."""
    parts = urlsplit(source)
    if parts.scheme in ("http", "https"):
        request = urllib.request.Request(
            source, headers={"Accept": "application/json, text/csv;q=0.9"}
        )
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            body = response.read(MAX_BYTES + 1)
            kind = response.headers.get_content_type()
        if len(body) > MAX_BYTES:
            raise ValueError(f"price feed: more than {MAX_BYTES} bytes")
        return body, kind == "text/csv" or parts.path.endswith(".csv")
    path = parts.path if parts.scheme == "file" else source
    with open(path, "rb") as f:
        body = f.read(MAX_BYTES + 1)
    if len(body) > MAX_BYTES:
        raise ValueError(f"price feed: more than {MAX_BYTES} bytes")
    return body, path.endswith(".csv")


def parse_prices(body: bytes, *, csv: bool) -> Any:
    """UTC hour → price of a price feed's document (a :class:`pandas.Series`);
    :class:`~server.insights.errors.TariffError` naming the problem. JSON:
    ``{"prices": [{"ts", "price_per_kwh"}, ...]}``, the list alone, or ``{ts: price, ...}``;
    CSV: the columns ``ts,price_per_kwh``."""
    import io

    from server.insights.tariff import DynamicTariff

    # the currency is the tariff's: only the series is kept
    if csv:
        return DynamicTariff.from_csv(io.StringIO(body.decode("utf-8")), "EUR").prices
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, ValueError) as err:
        raise ValueError(f"price feed: not JSON ({err})") from None
    if isinstance(doc, dict) and "prices" in doc:
        doc = doc["prices"]
    return DynamicTariff.from_prices(doc, "EUR").prices


class PriceFeed(_PolledFeed):
    """Polls hourly prices (``PRICE_FEED_URL``: an HTTP(S) URL, or a file, of JSON or CSV) for
    the households whose dynamic tariff says ``"feed": true``. Each good poll merges its hours
    over the ones held (a feed that publishes the next day's prices keeps today's); a failing
    poll changes nothing: the last good prices stay in use and ``/healthz`` reports
    ``"price_feed": {"ok": false, ...}`` with ``"status": "degraded"`` (still 200)."""

    name = "price-feed"

    def __init__(
        self,
        source: str,
        *,
        every_s: float = 900.0,
        timeout_s: float = 10.0,
        read: Callable[[str, float], tuple[bytes, bool]] = _read_prices,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import pandas as pd

        self.read = read
        self.prices = pd.Series([], dtype="float64", index=pd.DatetimeIndex([], tz="UTC"))
        self.version = 0
        super().__init__(source, every_s, timeout_s, clock)

    def poll(self) -> bool:
        """Fetch once; True when new prices are in use."""
        import pandas as pd

        self.polls += 1
        now_s = self.clock()
        try:
            body, csv = self.read(self.source, self.timeout_s)
            fresh = parse_prices(body, csv=csv)
        except (OSError, ValueError, urllib.error.URLError) as err:  # TariffError: ValueError
            self._failed(err)
            return False
        merged = (fresh.combine_first(self.prices) if len(self.prices) else fresh).sort_index()
        # bounded by the feed's own newest hour (a replayed dataset's hours are not "now")
        cutoff = merged.index[-1] - pd.Timedelta(seconds=PRICE_KEEP_S)
        self.prices = merged[merged.index >= cutoff]
        self._succeeded(now_s)
        self.version += 1
        return True

    def _details(self) -> dict[str, Any]:
        index = self.prices.index
        return {
            "hours": int(len(index)),
            "first": format_ts(int(index[0].timestamp())) if len(index) else None,
            "last": format_ts(int(index[-1].timestamp())) if len(index) else None,
        }


# -- carbon over MQTT -----------------------------------------------------------------------------
class MqttCarbonFeed:
    """Carbon intensity from an MQTT topic (``CARBON_FEED_TOPIC``, on ``MQTT_URL``): each message
    is a document :func:`parse_feed` reads (``{"zones": {...}}``, one zone, or a list), stored
    in ``carbon`` as it arrives. A bad message changes nothing (and is reported); while the
    broker cannot be reached, the last good values stay in use and ``/healthz`` reports
    ``"carbon_feed_mqtt": {"ok": false}`` (degraded, still 200)."""

    def __init__(
        self,
        url: str,
        topic: str,
        carbon: CarbonIntensity,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        import secrets
        import threading

        from server.ingest.mqtt import mqtt_client, parse_mqtt_url

        self.topic = topic
        self.carbon = carbon
        self.clock = clock
        self.address = parse_mqtt_url(url)
        self.subscribed = threading.Event()
        self.started = False
        self.zones: set[str] = set()
        self.error: str | None = None
        self.last_ok_s: float | None = None
        self.client = mqtt_client(self.address, f"gridlight-carbon-{secrets.token_hex(4)}")
        self.client.on_connect = self._connected
        self.client.on_subscribe = lambda *args: self.subscribed.set()
        self.client.on_disconnect = self._disconnected
        self.client.on_message = self._message

    def start(self) -> None:
        self.started = True
        self.client.connect_async(self.address.host, self.address.port, 30)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.subscribed.clear()

    def _connected(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        if reason_code.is_failure:
            self.error = f"connection refused: {reason_code}"
            return
        client.subscribe(self.topic, qos=1)

    def _disconnected(self, client, userdata, flags, reason_code, properties) -> None:  # noqa: ANN001
        self.subscribed.clear()
        self.error = f"broker connection lost ({reason_code}); last good values kept"
        for zone in self.zones:
            self.carbon.failed(zone, self.error)

    def _message(self, client, userdata, message) -> None:  # noqa: ANN001
        try:
            doc = json.loads(message.payload.decode("utf-8"))
            values = parse_feed(doc)
            at = dt.datetime.fromtimestamp(self.clock(), dt.UTC)
            for zone, g in values.items():
                self.carbon.update(zone, g, at)
        except (UnicodeDecodeError, ValueError) as err:  # CarbonError is a ValueError
            log.warning("carbon message on %s refused: %s", message.topic, err)
            self.error = f"bad message on {message.topic}: {err}"[:300]
            return
        self.zones |= set(values)
        self.error, self.last_ok_s = None, self.clock()

    def health(self) -> dict[str, Any]:
        """For ``/healthz``: ``ok`` is false while the broker is not reached."""
        out: dict[str, Any] = {
            "ok": not self.started or self.subscribed.is_set(),
            "topic": self.topic,
            "zones": sorted(self.zones),
            "last_ok": _utc(self.last_ok_s),
        }
        if self.error:
            out["error"] = self.error
        return out
