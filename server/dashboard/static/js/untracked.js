// Where the whole house's energy goes: the metered channels, the appliance estimates (channels
// the household marks "estimated", disaggregated from the whole-house meter) and the rest,
// "untracked" = Overall − (metered + estimated channels), by hour of day and as shares of the
// whole house, over the last 7 days of 15-minute rollups (the readings API).
//
// Untracked is computed per 15-minute row and clipped at 0: where the channels add up to more
// than Overall (meters disagree, or a sub-meter sits outside the whole-house meter) the row
// counts 0 untracked, and the note says in how many rows that happened. A row with a channel
// missing (null) is left out: a missing reading is never zero.

import {api} from "./api.js";
import {el, number} from "./format.js";
import {loadPlotly} from "./charts.js";

const $ = (id) => document.getElementById(id);
const DAYS = 7;
//: Channels that are not power (the insights' temperature channels).
const NOT_POWER = new Set(["TempC", "Temperature", "OutdoorTemp"]);
const COLOURS = ["#1565c0", "#6a1b9a", "#ef6c00", "#00838f", "#5d4037", "#ad1457", "#2e7d32"];

function show(id, text) {
  const node = $(id);
  node.textContent = text || "";
  node.hidden = !text;
}

/** Hour of the day (0-23) of an ISO instant in ``timeZone``. */
function hourOf(iso, timeZone) {
  const text = new Intl.DateTimeFormat("en-GB", {timeZone, hour: "2-digit", hourCycle: "h23"}).format(new Date(iso));
  return Number(text);
}

/** The split of ``rows`` (readings API rows): per channel and "untracked", the mean power by
 * hour of day [kW] and the share of Overall [%]; clipped and skipped row counts. */
export function split(rows, channels, estimated, timeZone) {
  const parts = channels.filter((c) => c !== "Overall" && !NOT_POWER.has(c));
  const names = [...parts, "untracked"];
  const byHour = Object.fromEntries(names.map((n) => [n, Array.from({length: 24}, () => 0)]));
  const count = Array.from({length: 24}, () => 0);
  const sums = Object.fromEntries(names.map((n) => [n, 0]));
  let overall = 0;
  let clipped = 0;
  let used = 0;
  let skipped = 0;
  for (const row of rows) {
    const p = row.power_kw || {};
    const whole = p.Overall;
    if (typeof whole !== "number" || parts.some((c) => typeof p[c] !== "number")) {
      skipped += 1;
      continue;
    }
    const raw = whole - parts.reduce((a, c) => a + p[c], 0);
    const rest = Math.max(0, raw);
    if (raw < 0) clipped += 1;
    const h = hourOf(row.ts, timeZone);
    count[h] += 1;
    for (const c of parts) { byHour[c][h] += p[c]; sums[c] += p[c]; }
    byHour.untracked[h] += rest;
    sums.untracked += rest;
    overall += whole;
    used += 1;
  }
  const mean = Object.fromEntries(names.map((n) => [n, byHour[n].map((v, h) => (count[h] ? v / count[h] : null))]));
  const share = Object.fromEntries(names.map((n) => [n, overall > 0 ? (100 * sums[n]) / overall : null]));
  return {parts, estimated: parts.filter((c) => estimated.includes(c)), mean, share, clipped, used, skipped};
}

export async function loadUntracked(ctx, plotly) {
  const node = $("untracked-chart");
  const list = $("shares");
  list.replaceChildren();
  $("untracked-note").textContent = "";
  const hide = (message) => {
    if (window.Plotly) window.Plotly.purge(node);
    node.hidden = true;
    delete node.dataset.rows;
    show("untracked-msg", message);
  };
  const channels = ctx.info.channels || [];
  const parts = channels.filter((c) => c !== "Overall" && !NOT_POWER.has(c));
  if (!channels.includes("Overall") || !parts.length) {
    return hide("Only a whole-house meter here (or none): there are no channels to split it into.");
  }
  const nowS = Math.floor(Date.now() / 1000);
  const answer = await api(`/api/v1/households/${encodeURIComponent(ctx.household)}/readings` +
    `?resolution=15m&from=${nowS - DAYS * 86400}&to=${nowS + 1}`, {household: ctx.household});
  if (!answer.ok) return hide(answer.message);
  const tz = ctx.info.timezone || "UTC";
  const estimated = ctx.info.estimated || [];
  const s = split(answer.data.readings, channels, estimated, tz);
  if (!s.used) return hide("No quarter-hour with every channel metered in the last 7 days yet.");
  show("untracked-msg", "");
  const label = (c) => (c === "untracked" ? "Untracked (the rest of Overall)" : s.estimated.includes(c) ? `${c} (estimated)` : c);
  const hours = Array.from({length: 24}, (_, h) => `${String(h).padStart(2, "0")}:00`);
  const traces = [...s.parts, "untracked"].map((c, i) => ({
    type: "bar", name: label(c), x: hours, y: s.mean[c],
    marker: c === "untracked"
      ? {color: "#9e9e9e", pattern: {shape: "/", fgcolor: "#424242"}}
      : {color: COLOURS[i % COLOURS.length], pattern: s.estimated.includes(c) ? {shape: ".", fgcolor: "#fff"} : undefined},
    hovertemplate: `${label(c)} %{x}: %{y:.2f} kW<extra></extra>`,
  }));
  const Plotly = await loadPlotly(plotly);
  node.hidden = false;
  await Plotly.react(node, traces, {
    barmode: "stack", margin: {l: 48, r: 12, t: 8, b: 40}, showlegend: true, legend: {orientation: "h", y: -0.25},
    xaxis: {type: "category", title: {text: `hour of day (${tz})`}, fixedrange: true},
    yaxis: {title: {text: "mean kW"}, rangemode: "tozero", fixedrange: true},
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
  }, {responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"]});
  node.dataset.rows = String(s.used);
  node.dataset.untrackedShare = s.share.untracked === null ? "" : s.share.untracked.toFixed(4);
  for (const c of [...s.parts, "untracked"]) {
    const pct = s.share[c];
    list.append(el("li", {dataset: {channel: c}},
      el("span", {class: "title", text: label(c)}),
      el("span", {class: "share", text: pct === null ? "—" : `${number(pct, 1)} % of Overall`}),
      el("span", {class: "bar", "aria-hidden": "true", style: `width: ${Math.min(100, pct || 0).toFixed(1)}%`})));
  }
  window.gridlight.untracked = {byHour: s.mean.untracked, share: s.share, clipped: s.clipped, rows: s.used};
  $("untracked-note").textContent = `Last ${DAYS} days, ${s.used} quarter-hours.` +
    (s.clipped ? ` In ${s.clipped} of them the channels add up to more than Overall; untracked is ` +
      "counted as 0 there (never negative), so the shares can add up to more than 100 %." : "") +
    (s.skipped ? ` ${s.skipped} quarter-hours with a channel missing are left out.` : "");
}
