"""``GET /widget/{h}``: the page, and in headless Chromium its values and colour follow the state
live over SSE."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page
from werkzeug.serving import make_server

from server.streaming.hub import Channel
from tests.widget_api.browser import chromium_page, ensure_chromium
from tests.widget_api.conftest import OVERALL_KW, publish_window, reading
from widget_api.page import BACKGROUND, TEXT

INTERVAL_S = 5
#: What the page shows, or null while it is loading.
SHOWN = """() => {
  const w = document.getElementById("widget");
  if (!w || !document.querySelector("li[data-channel]")) return null;  // still loading
  const style = getComputedStyle(w);
  const kw = (c) => document.querySelector(`li[data-channel="${c}"] .kw`)?.textContent;
  return ({worst: w.dataset.worst, stale: w.dataset.stale, seq: w.dataset.seq,
    bg: style.backgroundColor, fg: style.color, overall: kw("Overall"), ac: kw("AC"),
    message: document.getElementById("message").textContent,
    name: document.getElementById("name").textContent,
    status: document.getElementById("status").textContent});
}"""


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
def page() -> Iterator[Page]:
    with chromium_page(ensure_chromium()) as page:
        yield page


@pytest.fixture
def stream_opened(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Set once an SSE client (not an in-process listener) subscribes to household A's windows."""
    opened = threading.Event()
    subscribe = Channel.subscribe

    def spy(channel: Channel, *args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        sub = subscribe(channel, *args, **kwargs)
        if sub is not None and channel.household == "A" and kwargs.get("control"):
            opened.set()
        return sub

    monkeypatch.setattr(Channel, "subscribe", spy)
    return opened


def wait_shown(page: Page, level: str) -> dict:
    """What the page shows once its background is ``level``'s colour (bounded by the page's
    default timeout; the failure says what it shows instead)."""
    try:
        handle = page.wait_for_function(
            f"(bg) => {{ const s = ({SHOWN})(); return s !== null && s.bg === bg && s; }}",
            arg=rgb(BACKGROUND[level]),
        )
    except PlaywrightError as err:
        raise AssertionError(
            f"{level} never shown ({err.message.splitlines()[0]}); "
            f"the page shows {page.evaluate(SHOWN)!r}"
        ) from None
    return handle.json_value()


def test_page_follows_the_state_in_chromium(served, page: Page, stream_opened: threading.Event):
    base, app = served
    gl = app.extensions["gridlight"]
    start = future_start()
    publish_window(gl.broker, start, INTERVAL_S, OVERALL_KW["green"])
    gl.broker.publish("A", reading(start + INTERVAL_S, OVERALL_KW["green"]))
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))

    response = page.goto(f"{base}/widget/A")
    assert response is not None and response.ok

    shown = wait_shown(page, "green")
    assert shown["worst"] == "green"
    assert shown["fg"] == rgb(TEXT["green"])
    assert shown["overall"] == "0.10 kW"
    assert shown["ac"] == "0.00 kW"
    assert shown["name"] == "Day worker's home"
    assert shown["message"] == "Usual use"

    # the page's EventSource is connected: a red window reaches it through the stream
    assert stream_opened.wait(timeout=10), "the page never opened its stream"
    # (the window of the reading at start + INTERVAL_S closes first, green; then the red one)
    publish_window(gl.broker, start + 2 * INTERVAL_S, INTERVAL_S, OVERALL_KW["red"])
    gl.broker.publish("A", reading(start + 3 * INTERVAL_S, OVERALL_KW["red"]))
    shown = wait_shown(page, "red")
    assert shown["worst"] == "red"
    assert shown["fg"] == rgb(TEXT["red"]) == "rgb(0, 0, 0)"  # black on red (contrast)
    assert shown["message"] == "Unusually high: Overall"
    assert shown["status"] == ""

    publish_window(gl.broker, start + 4 * INTERVAL_S, INTERVAL_S, None)
    gl.broker.publish("A", reading(start + 5 * INTERVAL_S, OVERALL_KW["green"]))
    shown = wait_shown(page, "critical")
    assert shown["fg"] == rgb(TEXT["critical"]) == "rgb(255, 255, 255)"
    assert shown["overall"] == "—"  # unavailable, never 0
    assert shown["message"] == "No reading: Overall"
    assert errors == []  # no script error on the page
