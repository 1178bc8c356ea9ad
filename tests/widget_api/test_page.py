"""``GET /widget/{h}``: the page, and in headless Chromium its values and colour follow the state
live over SSE."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from tests.widget_api.browser import Browser, ensure_chromium
from tests.widget_api.conftest import OVERALL_KW, publish_window, reading
from widget_api.page import BACKGROUND, TEXT

INTERVAL_S = 5
SHOWN = """(() => {
  const w = document.getElementById("widget");
  if (!w || !document.querySelector("li[data-channel]")) return null;  // still loading
  const style = getComputedStyle(w);
  const kw = (c) => document.querySelector(`li[data-channel="${c}"] .kw`)?.textContent;
  return JSON.stringify({worst: w.dataset.worst, stale: w.dataset.stale, seq: w.dataset.seq,
    bg: style.backgroundColor, fg: style.color, overall: kw("Overall"), ac: kw("AC"),
    message: document.getElementById("message").textContent,
    name: document.getElementById("name").textContent,
    status: document.getElementById("status").textContent});
})()"""


def rgb(hex_colour: str) -> str:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def future_start() -> int:
    now = int(time.time()) + 600
    return now - now % INTERVAL_S


def test_page_html(make_app):
    client = make_app(DEMO=True).test_client()
    r = client.get("/widget/A")
    assert r.status_code == 200
    assert r.mimetype == "text/html"
    html = r.get_data(as_text=True)
    config = json.loads(html.split('id="config">', 1)[1].split("</script>", 1)[0])
    assert config["stream_url"] == "/api/v1/households/A/stream?interval=5"
    assert config["widget_url"] == "/api/v1/households/A/widget?interval=5"
    assert config["background"]["red"] == "#F44336" and config["text"]["red"] == "#000000"
    assert config["initial"]["household"] == "A"
    assert client.get("/widget/Q").status_code == 404
    assert client.get("/widget/A?interval=x").status_code == 400


@pytest.fixture
def served(make_app) -> Iterator[tuple[str, object]]:  # noqa: ANN001
    app = make_app(DEMO=True)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", app
    server.shutdown()
    thread.join(timeout=5)
    server.server_close()


@pytest.fixture
def browser(tmp_path) -> Iterator[Browser]:  # noqa: ANN001
    chromium = ensure_chromium()
    b = Browser(chromium, tmp_path / "chromium-profile", tmp_path / "chromium.log")
    yield b
    b.close()


def test_page_follows_the_state_in_chromium(served, browser):
    base, app = served
    gl = app.extensions["gridlight"]
    start = future_start()
    publish_window(gl.broker, start, INTERVAL_S, OVERALL_KW["green"])
    gl.broker.publish("A", reading(start + INTERVAL_S, OVERALL_KW["green"]))

    browser.open(f"{base}/widget/A")

    def shows(level: str):  # noqa: ANN202
        return lambda v: v is not None and json.loads(v)["bg"] == rgb(BACKGROUND[level])

    shown = json.loads(browser.wait_for(SHOWN, shows("green")))
    assert shown["worst"] == "green"
    assert shown["fg"] == rgb(TEXT["green"])
    assert shown["overall"] == "0.10 kW"
    assert shown["ac"] == "0.00 kW"
    assert shown["name"] == "Day worker's home"
    assert shown["message"] == "Usual use"

    # the page's EventSource is connected: a red window reaches it through the stream
    deadline = time.monotonic() + 10
    while not any(c.subscribers for c in gl.hub.channels_of("A")):
        assert time.monotonic() < deadline, "the page never opened its stream"
        time.sleep(0.02)
    # (the window of the reading at start + INTERVAL_S closes first, green; then the red one)
    publish_window(gl.broker, start + 2 * INTERVAL_S, INTERVAL_S, OVERALL_KW["red"])
    gl.broker.publish("A", reading(start + 3 * INTERVAL_S, OVERALL_KW["red"]))
    shown = json.loads(browser.wait_for(SHOWN, shows("red")))
    assert shown["worst"] == "red"
    assert shown["fg"] == rgb(TEXT["red"]) == "rgb(0, 0, 0)"  # black on red (contrast)
    assert shown["message"] == "Unusually high: Overall"
    assert shown["status"] == ""

    publish_window(gl.broker, start + 4 * INTERVAL_S, INTERVAL_S, None)
    gl.broker.publish("A", reading(start + 5 * INTERVAL_S, OVERALL_KW["green"]))
    shown = json.loads(browser.wait_for(SHOWN, shows("critical")))
    assert shown["fg"] == rgb(TEXT["critical"]) == "rgb(255, 255, 255)"
    assert shown["overall"] == "—"  # unavailable, never 0
    assert shown["message"] == "No reading: Overall"
