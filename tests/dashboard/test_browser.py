"""The dashboard in headless Chromium (Debian's, driven by Playwright through executable_path),
against the app served for real on loopback: live tiles follow HTTP ingest and turn red on a
spike, the history chart has one point per stored minute and the thresholds drawn, a dropped
connection resumes with Last-Event-ID and no event lost, and the first load's figures.

Screenshots (360 px and 1280 px) and the figures go to ``$GRIDLIGHT_SCREENSHOTS_DIR`` when it is
set (``docs/screenshots`` keeps the committed ones), else to the test's temporary directory.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import requests
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page

from server.dashboard.views import plotly_js, version
from tests.dashboard.conftest import HISTORY_S, INTERVAL_S, post_readings
from tests.dashboard.proxy import DropProxy

LEVEL_TEXT = {  # as static/js/format.js writes them
    "green": "Green · usual",
    "yellow": "Yellow · above usual",
    "red": "Red · high",
    "critical": "Critical · check now",
}
BACKGROUND = {"red": "rgb(244, 67, 54)", "critical": "rgb(183, 28, 28)"}
TILE = """(channel) => {
  const t = document.querySelector(`#tiles li[data-channel="${channel}"]`);
  return t && {level: t.dataset.level, kw: t.querySelector(".kw").textContent,
    text: t.querySelector(".lvl").textContent, bg: getComputedStyle(t).backgroundColor};
}"""


#: The service worker's caches once it is ready: their names and the cached paths.
SHELL_CACHED = """async () => {
  await navigator.serviceWorker.ready;
  const names = await caches.keys();
  const cache = await caches.open(names[0]);
  return {names, paths: (await cache.keys()).map((r) => new URL(r.url).pathname)};
}"""
#: Plotly drawing 10,080 one-minute points in the page (as charts.js draws history), in ms.
WEEK_RENDER = """async () => {
  const node = document.createElement("div");
  node.style.width = "1200px"; node.style.height = "380px";
  document.body.append(node);
  const t0 = Date.UTC(2026, 10, 1) ;
  const x = [], y = [];
  for (let i = 0; i < 7 * 1440; i++) { x.push(new Date(t0 + i * 60000).toISOString()); y.push(0.3 + (i % 97) / 100); }
  const start = performance.now();
  await Plotly.react(node, [{x, y, type: "scatter", mode: "lines"}],
    {margin: {l: 48, r: 12, t: 8, b: 40}, xaxis: {type: "date"}});
  const ms = performance.now() - start;
  Plotly.purge(node); node.remove();
  return ms;
}"""


def wait_subscribed(app, household: str, timeout_s: float = 20.0) -> None:  # noqa: ANN001
    """Until a v1 SSE client of ``household`` is subscribed (readings posted before that
    would be history the stream does not resend to a client without Last-Event-ID)."""
    hub = app.extensions["gridlight"].hub
    deadline = time.monotonic() + timeout_s
    while not any(c.fmt == "v1" and c.subscribers for c in hub.channels_of(household)):
        assert time.monotonic() < deadline, f"no SSE client of {household} subscribed"
        time.sleep(0.02)


def next_window(ahead: int = 3) -> int:
    """A window start ahead of the clock: not closed as a silent meter's before it is posted."""
    return (int(time.time()) // INTERVAL_S + ahead) * INTERVAL_S


def window(start_s: int, overall_kw: float) -> list[dict]:
    """One reading a second over the window, and the next window's first (which closes it)."""
    return [
        {"ts": start_s + i, "power_kw": {"AC": 0.0, "Geyser": 0.0, "Overall": overall_kw}}
        for i in range(INTERVAL_S + 1)
    ]


def wait_tile(page: Page, channel: str, condition: str, arg: object = None) -> dict:
    """The tile of ``channel`` once ``condition`` (JS over ``t``, ``arg``) holds; the failure
    says what the tile shows instead."""
    try:
        page.wait_for_function(
            f"([c, arg]) => {{ const t = ({TILE})(c); return t && ({condition}); }}",
            arg=[channel, arg],
        )
    except PlaywrightError as err:
        raise AssertionError(
            f"{channel} never met {condition} ({err.message.splitlines()[0]}); it shows "
            f"{page.evaluate(TILE, channel)!r}, the stream is "
            f"{page.text_content('#live-status')!r}"
        ) from None
    return page.evaluate(TILE, channel)


def open_live(page: Page, base: str, key: str, errors: list[str]) -> None:
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.add_init_script(f"localStorage.setItem('gridlight.key.L1', {json.dumps(key)})")
    response = page.goto(f"{base}/?household=L1")
    assert response is not None and response.ok


def test_live_tile_shows_the_level_and_turns_red_on_a_spike(
    served, live_household, page: Page, out_dir: Path
):
    key = live_household["key"]
    devices = {
        "devices": [
            {
                "id": "plug1",
                "kind": "plug",
                "capabilities": ["on_off"],
                "name": "Kettle plug",
                "power_kw": 2.0,
            },
            {"id": "geyser", "kind": "water_heater", "capabilities": ["on_off"], "power_kw": 2.0},
        ]
    }
    r = requests.put(
        f"{served.url}/api/v1/households/L1/controls",
        json=devices,
        headers={"Authorization": f"Bearer {key}"},
        timeout=10,
    )
    assert r.ok, r.text
    errors: list[str] = []
    open_live(page, served.url, key, errors)
    wait_subscribed(served.app, "L1")
    first = next_window()
    post_readings(served.url, live_household["key"], window(first, 0.5))
    tile = wait_tile(page, "Overall", "t.kw === '0.50 kW'")
    assert tile["level"] in LEVEL_TEXT and tile["text"] == LEVEL_TEXT[tile["level"]]
    assert page.text_content("#live-status") == "Live"

    spike = first + 2 * INTERVAL_S
    post_readings(served.url, live_household["key"], window(spike, 9.0))
    tile = wait_tile(page, "Overall", "t.kw === '9.00 kW'")
    assert tile["level"] in ("red", "critical")
    assert tile["text"] == LEVEL_TEXT[tile["level"]]  # written, not only coloured
    assert tile["bg"] == BACKGROUND[tile["level"]]
    assert page.get_attribute("#tiles", "data-worst") in ("red", "critical")

    # the rest of the page has loaded around it; a device button issues a command
    page.wait_for_selector("body[data-loaded='L1']")
    page.click("#device-list li[data-device='plug1'] button:text-is('On')")
    page.wait_for_selector("#device-list li[data-device='plug1'] .pill[data-command]")
    pill = page.text_content("#device-list li[data-device='plug1'] .pill")
    assert pill.startswith("on: ")  # pending until a device answers over MQTT
    # the service worker has cached the shell (Plotly included), and nothing of the API
    cached = page.evaluate(SHELL_CACHED)
    assert cached["names"] == [f"gridlight-shell-{version()}"]
    assert {"/", "/dashboard/vendor/plotly.min.js", "/dashboard/static/js/app.js"} <= set(
        cached["paths"]
    )
    assert not [p for p in cached["paths"] if p.startswith("/api/")]
    # then the screenshots
    page.evaluate("() => window.scrollTo(0, 0)")
    page.wait_for_selector("#history-chart[data-points]")
    page.screenshot(path=str(out_dir / "dashboard-1280.png"), full_page=True)
    page.set_viewport_size({"width": 360, "height": 780})
    page.wait_for_function("() => document.documentElement.scrollWidth <= 360")
    page.screenshot(path=str(out_dir / "dashboard-360.png"), full_page=True)
    assert errors == []


def test_history_chart_has_a_point_per_minute_and_the_thresholds(
    served, live_household, page: Page, out_dir: Path
):
    errors: list[str] = []
    open_live(page, served.url, live_household["key"], errors)
    page.wait_for_selector("body[data-loaded='L1']")
    first_s = live_household["first_s"]
    minutes = {ts // 60 for ts in range(first_s, first_s + HISTORY_S)}
    chart = page.evaluate(
        """() => { const n = document.getElementById("history-chart");
        return {points: Number(n.dataset.points), thresholds: Number(n.dataset.thresholds),
          x: n.data[0].x.length, y0: n.data[0].y[0],
          lines: n.layout.shapes.map((s) => s.y0), range: n.dataset.range}; }"""
    )
    assert chart["range"] == "day"
    assert chart["points"] == chart["x"] == len(minutes)
    stats = requests.get(
        f"{served.url}/api/v1/households/L1/stats?interval={INTERVAL_S}",
        headers={"Authorization": f"Bearer {live_household['key']}"},
        timeout=30,
    ).json()
    assert chart["thresholds"] == 2
    assert chart["lines"] == [stats["75p"]["Overall"], stats["rt_critical_value_0.01"]["Overall"]]

    page.click("#ranges button[data-range='week']")
    page.wait_for_selector("#history-chart[data-range='week']")
    assert page.get_attribute("#history-chart", "data-points") == str(len(minutes))
    assert page.get_attribute("#ranges button[data-range='week']", "aria-pressed") == "true"
    # sections without data say so instead of breaking the page
    assert page.is_visible("#reports-msg")
    assert "No monthly reports" in page.text_content("#reports-msg")
    forecast = page.get_attribute("#forecast-chart", "data-hours")
    assert forecast == "24" or page.is_visible("#forecast-msg")
    assert errors == []

    # a week of 1-minute rollups (10,080 points, the readings API's rows) drawn the same way
    week_ms = page.evaluate(WEEK_RENDER)
    (out_dir / "week-render.json").write_text(json.dumps({"week_1m_render_ms": week_ms}) + "\n")
    print("week of 1-minute points rendered in", week_ms, "ms")
    assert week_ms < 5000  # generous on a shared CI core; the report gives the figure


def test_a_dropped_connection_resumes_without_a_gap(served, live_household, page: Page):
    key = live_household["key"]
    stream_requests: list[dict] = []
    with DropProxy(served.server.server_port) as proxy:
        page.on(
            "request",
            lambda r: "/stream?" in r.url and stream_requests.append(r.headers),
        )
        errors: list[str] = []
        open_live(page, proxy.url, key, errors)
        wait_subscribed(served.app, "L1")
        first = next_window()
        post_readings(served.url, key, window(first, 0.5))
        wait_tile(page, "Overall", "t.kw === '0.50 kW'")

        proxy.cut()  # the network drops: the page's stream ends, reconnects fail meanwhile
        page.wait_for_selector("#live-status[data-state='reconnecting']")
        assert page.text_content("#live-status") == "Reconnecting…"
        missed = [first + 2 * INTERVAL_S, first + 3 * INTERVAL_S]
        post_readings(served.url, key, window(missed[0], 1.0)[:-1] + window(missed[1], 2.0))
        proxy.restore()

        wait_tile(page, "Overall", "t.kw === '2.00 kW'")
        page.wait_for_selector("#live-status[data-state='live']")
        events = page.evaluate("() => window.gridlight.events")
        states = page.evaluate("() => window.gridlight.states")
    # every window from the first to the last, in order, none lost, none repeated (the first
    # reading of each posted window's successor closes it: first + 5 holds one reading)
    iso = [
        time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(s))
        for s in range(first, missed[1] + 1, INTERVAL_S)
    ]
    seen = [e["ts"] for e in events]
    assert [ts for ts in seen if ts >= iso[0]] == iso
    assert len({e["id"] for e in events}) == len(events)
    assert stream_requests[0].get("last-event-id") is None
    resumed = [h.get("last-event-id") for h in stream_requests[1:]]
    before_cut = next(e["id"] for e in events if e["ts"] == iso[0])
    # every reconnect (some may fail while the network is still down) asked for what followed
    # the last event seen
    assert resumed and set(resumed) == {before_cut}
    assert states[:2] == ["connecting", "live"] and states[-1] == "live"
    assert set(states[2:-1]) == {"reconnecting"}
    assert errors == []


def test_first_load_of_a_demo_household(make_app, live_key: str, page: Page, out_dir: Path):
    """Demo household A without a key: cold-cache load figures (Performance API); sections
    with nothing to show say so, and those whose routes refuse (a live household without its
    key) explain why instead of breaking the page."""
    from tests.dashboard.conftest import Served

    # a fresh context (cold cache) without the service worker, which would serve Plotly from
    # the shell it caches as it installs and hide its transfer
    context = page.context.browser.new_context(service_workers="block")
    page = context.new_page()
    page.set_default_timeout(20_000)
    with Served(make_app()) as served:
        errors: list[str] = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        response = page.goto(f"{served.url}/")
        assert response is not None and response.ok
        page.wait_for_selector("body[data-loaded='A']")
        page.wait_for_selector("#forecast-chart[data-hours='24']")
        figures = page.evaluate(
            """() => {
            const nav = performance.getEntriesByType("navigation")[0];
            const resources = performance.getEntriesByType("resource");
            const plotly = resources.filter((r) => r.name.endsWith("/plotly.min.js"));
            const rest = resources.filter((r) => !r.name.endsWith("/plotly.min.js"));
            return {
              document_response_ms: nav.responseEnd,
              dom_content_loaded_ms: nav.domContentLoadedEventEnd,
              load_ms: nav.loadEventEnd,
              document_bytes: nav.transferSize,
              other_bytes: rest.reduce((a, r) => a + r.transferSize, 0),
              decoded_bytes: nav.decodedBodySize + rest.reduce((a, r) => a + r.decodedBodySize, 0),
              requests: rest.length + 1,
              plotly_bytes: plotly.reduce((a, r) => a + r.transferSize, 0),
              plotly_decoded_bytes: plotly.reduce((a, r) => a + r.decodedBodySize, 0),
              plotly_ms: plotly.length ? plotly[0].duration : null,
              households_listed_ms: performance.getEntriesByName("gridlight-households")[0].startTime,
              all_sections_ms: performance.getEntriesByName("gridlight-loaded-A")[0].startTime,
            }; }"""
        )
        # A's recommendations need the key to apply: the section says so
        assert page.text_content("#live-status") in ("Live", "Connecting…")
        # A is not metered: its history is what the demo replay publishes
        page.wait_for_selector("#history-chart[data-points]")
        assert int(page.get_attribute("#history-chart", "data-points")) > 0
        assert "No readings stored" not in (page.text_content("#history-msg") or "")
        assert page.get_attribute("#history-chart", "data-thresholds") == "2"  # A's statistics
        assert "No alerts" in page.text_content("#alerts-msg")
        page.keyboard.press("Tab")  # keyboard first: the skip link, then the household picker
        assert page.evaluate("() => document.activeElement.className") == "skip"
        page.keyboard.press("Tab")
        assert page.evaluate("() => document.activeElement.id") == "household"

        page.goto(f"{served.url}/?household=L1")  # a live household, and no key in the browser
        page.wait_for_selector("body[data-loaded='L1']")
        page.wait_for_selector("#live-status[data-state='error']")
        assert page.text_content("#live-status") == "Not connected"
        for section in (
            "live",
            "history",
            "untracked",
            "accuracy",
            "money",
            "alerts",
            "tips",
            "devices",
            "schedule",
            "device-form",
            "reports",
        ):
            assert "needs L1's API key" in page.text_content(f"#{section}-msg"), section
        assert errors == []
    context.close()
    figures["bytes_without_plotly"] = figures["document_bytes"] + figures["other_bytes"]
    (out_dir / "first-load.json").write_text(json.dumps(figures, indent=1) + "\n")
    print("first load:", json.dumps(figures))
    # fetched from the app, not a CDN, and compressed on the way (server.compression)
    assert figures["plotly_decoded_bytes"] == plotly_js().stat().st_size
    assert figures["plotly_bytes"] < figures["plotly_decoded_bytes"] / 2
    assert figures["bytes_without_plotly"] < figures["decoded_bytes"] / 2
    assert figures["bytes_without_plotly"] < 1_000_000
    assert figures["load_ms"] < 5000  # generous on a shared CI core; the report gives the figure
