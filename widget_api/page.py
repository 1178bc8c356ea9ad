"""``GET /widget/{h}``: the home-screen widget as a small web page, for the hosted demo.

It looks like the Android widget (same colours and text colours as ``android-widget/README.md``)
and is live: an ``EventSource`` on the household's stream at the page's interval; each
``reading`` event makes the page fetch the widget state (``If-None-Match``, so usually a 304
while nothing changed) and redraw. The state is computed by the server alone
(:mod:`widget_api.state`), so the page, the app and the pushes always agree. The page's first
state is embedded in it (demo households), so it shows values before the stream's first event.
"""

from __future__ import annotations

import json

from flask import render_template_string, url_for

__all__ = ["BACKGROUND", "TEXT", "render_page"]

#: Background per level (and for ``stale`` / nothing yet), as in the app.
BACKGROUND = {
    "green": "#4CAF50",
    "yellow": "#FFEB3B",
    "red": "#F44336",
    "critical": "#B71C1C",
    "stale": "#9E9E9E",
    "loading": "#ECEFF1",
}
#: Text colour on each background: whichever of black and white contrasts more (red: black).
TEXT = {
    "green": "#000000",
    "yellow": "#000000",
    "red": "#000000",
    "critical": "#FFFFFF",
    "stale": "#000000",
    "loading": "#000000",
}

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Gridlight · {{ household }}</title>
<style>
  body { margin: 0; font-family: system-ui, sans-serif; background: #fafafa;
         display: flex; justify-content: center; padding: 24px; }
  #widget { width: 320px; border-radius: 24px; padding: 20px 24px;
            box-shadow: 0 2px 8px rgba(0,0,0,.25); transition: background .3s; }
  #widget h1 { font-size: 1.2em; margin: 0 0 2px; }
  #time, #note, #status { font-size: .85em; margin: 0; opacity: .85; }
  ul { list-style: none; padding: 0; margin: 12px 0; }
  li { display: flex; align-items: center; gap: 8px; font-size: 1.05em; margin: 4px 0; }
  .dot { width: 12px; height: 12px; border-radius: 50%; border: 1px solid rgba(0,0,0,.35); }
  .ch { flex: 1; }
  .est { font-size: .75em; opacity: .75; text-decoration: none; }
  .kw { font-variant-numeric: tabular-nums; font-weight: 600; }
  #message { font-weight: 600; margin: 8px 0 4px; }
</style>
</head>
<body>
<main id="widget" data-worst="" data-stale="" data-seq="">
  <h1 id="name">{{ household }}</h1>
  <p id="time">Loading…</p>
  <ul id="channels"></ul>
  <p id="message"></p>
  <p id="note"></p>
  <p id="status"></p>
</main>
<script type="application/json" id="config">{{ config | tojson }}</script>
<script>
"use strict";
const cfg = JSON.parse(document.getElementById("config").textContent);
const el = (id) => document.getElementById(id);
let etag = null;
let current = null;

function isStale(state) {
  if (state.stale) return true;
  const ageS = (Date.now() - Date.parse(state.as_of)) / 1000;
  return ageS > 3 * state.interval_s + 120;  // as the app; a clock behind never makes it stale
}

function clock(iso) {
  const t = new Date(iso);
  const today = new Date();
  const hm = t.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", hour12: false});
  return t.toDateString() === today.toDateString() ? hm : t.toLocaleDateString() + " " + hm;
}

function paint(key) {
  const w = el("widget");
  w.style.background = cfg.background[key];
  w.style.color = cfg.text[key];
}

function render(state) {
  current = state;
  const stale = isStale(state);
  const w = el("widget");
  w.dataset.worst = state.worst || "";
  w.dataset.stale = String(stale);
  w.dataset.seq = state.seq;
  paint(stale ? "stale" : (state.worst || "loading"));
  el("name").textContent = state.name || state.household;
  el("time").textContent = "Updated " + clock(state.as_of) + " · " + state.interval_s + " s average";
  const list = el("channels");
  list.replaceChildren();
  for (const [channel, kw] of Object.entries(state.power_kw)) {
    const level = state.level[channel];
    const li = document.createElement("li");
    li.dataset.channel = channel;
    li.dataset.level = level || "";
    const dot = document.createElement("span");
    dot.className = "dot";
    dot.style.background = level ? cfg.background[level] : "transparent";
    const name = document.createElement("span");
    name.className = "ch";
    name.textContent = channel;
    if ((state.estimated || []).includes(channel)) {  // an estimate, not a meter reading
      const est = document.createElement("abbr");
      est.className = "est";
      est.title = "estimated from the whole-house meter";
      est.textContent = " est.";
      name.append(est);
      li.dataset.estimated = "true";
    }
    const value = document.createElement("span");
    value.className = "kw";
    value.textContent = kw === null ? "—" : kw.toFixed(2) + " kW";
    li.append(dot, name, value);
    list.append(li);
  }
  el("message").textContent = state.message || "";
  el("note").textContent = stale ? "stale" : "";
}

async function refresh() {
  const headers = etag ? {"If-None-Match": etag} : {};
  try {
    const r = await fetch(cfg.widget_url, {headers, cache: "no-store"});
    if (r.status === 304) return;
    const body = await r.json();
    if (!r.ok) {
      el("status").textContent = (body.error && body.error.message) || ("HTTP " + r.status);
      return;
    }
    etag = r.headers.get("ETag");
    el("status").textContent = "";
    render(body);
  } catch (err) {
    el("status").textContent = "offline: " + err;
  }
}

if (cfg.initial) render(cfg.initial); else paint("loading");
refresh();
const source = new EventSource(cfg.stream_url);
source.addEventListener("reading", refresh);
source.addEventListener("resync", refresh);
source.onopen = () => { el("status").textContent = ""; };
source.onerror = () => { el("status").textContent = "reconnecting…"; };
setInterval(() => { if (current) render(current); }, 30000);  // staleness by the clock
</script>
</body>
</html>
"""


def render_page(household: str, interval_s: int, initial_json: str | None) -> str:
    config = {
        "household": household,
        "interval_s": interval_s,
        "widget_url": url_for("widget_api.widget", household=household, interval=interval_s),
        "stream_url": url_for("api_v1.stream", household=household, interval=interval_s),
        "background": BACKGROUND,
        "text": TEXT,
        "initial": None if initial_json is None else json.loads(initial_json),
    }
    return render_template_string(PAGE, household=household, config=config)
