// Plotly charts: history (with the traffic-light thresholds as lines) and the forecast band.
// Plotly's JavaScript (served by the app from the plotly Python package) is loaded on first use,
// so the live tiles never wait for it.

import {api} from "./api.js";
import {wallClock} from "./format.js";

let plotlyPromise = null;

export function loadPlotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!plotlyPromise) {
    plotlyPromise = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.async = true;
      script.onload = () => resolve(window.Plotly);
      script.onerror = () => { plotlyPromise = null; reject(new Error("the charting library did not load")); };
      document.head.append(script);
    });
  }
  return plotlyPromise;
}

const DAY_S = 86400;
/** Each range's resolution (the readings API's rollups) and span. */
export const RANGES = {
  day: {resolution: "1m", span_s: DAY_S},
  week: {resolution: "1m", span_s: 7 * DAY_S},
  month: {resolution: "15m", span_s: 30 * DAY_S},
  year: {resolution: "1d", span_s: 365 * DAY_S},
};

/** A chart with nothing to draw takes no room; its section's message says why. */
function clear(node, message) {
  if (window.Plotly) window.Plotly.purge(node);
  node.hidden = true;
  delete node.dataset.points;
  delete node.dataset.hours;
  return {message};
}

const LAYOUT = {
  margin: {l: 48, r: 12, t: 8, b: 40},
  showlegend: true,
  legend: {orientation: "h", y: -0.2},
  yaxis: {title: {text: "kW"}, rangemode: "tozero", fixedrange: true},
  xaxis: {type: "date"},
  paper_bgcolor: "rgba(0,0,0,0)",
  plot_bgcolor: "rgba(0,0,0,0)",
};
const CONFIG = {responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"]};

function thresholdShapes(stats, channel) {
  if (!stats) return {shapes: [], annotations: []};
  const lines = [
    {value: stats["75p"] && stats["75p"][channel], colour: "#F9A825", dash: "dash", text: "yellow above"},
    {value: stats["rt_critical_value_0.01"] && stats["rt_critical_value_0.01"][channel],
      colour: "#D32F2F", dash: "dot", text: "red above"},
  ].filter((line) => typeof line.value === "number");
  return {
    shapes: lines.map((line) => ({type: "line", xref: "paper", x0: 0, x1: 1, y0: line.value, y1: line.value,
      line: {color: line.colour, width: 2, dash: line.dash}, name: line.text})),
    annotations: lines.map((line) => ({xref: "paper", x: 1, xanchor: "right", y: line.value, yanchor: "bottom",
      text: `${line.text} ${line.value.toFixed(2)} kW`, showarrow: false, font: {size: 11}})),
  };
}

/** Draw the history of ``channel``; resolves to {points} or {message}. */
export async function drawHistory(node, {plotly, household, range, channel, stats, nowS}) {
  const spec = RANGES[range];
  const from = nowS - spec.span_s;
  const answer = await api(`/api/v1/households/${encodeURIComponent(household)}/readings` +
    `?resolution=${spec.resolution}&from=${from}&to=${nowS}&channels=${encodeURIComponent(channel)}`, {household});
  if (!answer.ok) return clear(node, answer.message);
  const rows = answer.data.readings;
  const x = rows.map((r) => r.ts);
  const y = rows.map((r) => (r.power_kw[channel] === undefined ? null : r.power_kw[channel]));
  const Plotly = await loadPlotly(plotly);
  node.hidden = false;
  const {shapes, annotations} = thresholdShapes(stats, channel);
  performance.mark("gridlight-history-start");
  await Plotly.react(node, [{x, y, type: "scatter", mode: rows.length > 60 ? "lines" : "lines+markers",
    name: `${channel} (mean, ${spec.resolution})`, line: {color: "#2e7d32", width: 1.5},
    hovertemplate: "%{x}<br>%{y:.2f} kW<extra></extra>"}],
  {...LAYOUT, shapes, annotations, xaxis: {type: "date", range: [new Date(from * 1000), new Date(nowS * 1000)]}},
  CONFIG);
  performance.mark("gridlight-history-end");
  performance.measure(`gridlight-history-${range}`, "gridlight-history-start", "gridlight-history-end");
  node.dataset.points = String(rows.length);
  node.dataset.thresholds = String(shapes.length);
  node.dataset.range = range;
  return {points: rows.length, message: rows.length ? "" : "No readings stored in this range yet."};
}

/** Draw the forecast's P10–P90 band and P50 line; resolves to {note} or {message}. */
export async function drawForecast(node, {plotly, household}) {
  const answer = await api(`/api/v1/households/${encodeURIComponent(household)}/forecast?horizon_h=24`, {household});
  if (!answer.ok) return clear(node, answer.message);
  const hours = answer.data.hours;
  const x = hours.map((h) => h.ts);
  const Plotly = await loadPlotly(plotly);
  node.hidden = false;
  await Plotly.react(node, [
    {x, y: hours.map((h) => h.power_kw.p90), type: "scatter", mode: "lines", line: {width: 0},
      name: "P90", showlegend: false, hoverinfo: "skip"},
    {x, y: hours.map((h) => h.power_kw.p10), type: "scatter", mode: "lines", line: {width: 0},
      fill: "tonexty", fillcolor: "rgba(46,125,50,0.25)", name: "P10–P90 band (8 in 10 hours fall inside)"},
    {x, y: hours.map((h) => h.power_kw.p50), type: "scatter", mode: "lines+markers",
      line: {color: "#1b5e20", width: 2}, name: "P50 (median)"},
  ], LAYOUT, CONFIG);
  node.dataset.hours = String(hours.length);
  const model = answer.data.model || {};
  return {note: `Model: ${model.name || "?"}${model.reason ? ` (${model.reason})` : ""}.`};
}

/** Yesterday's day-ahead forecast (P10–P90 band, P50 line) beside the metered energy (bars),
 * and its error written out; resolves to {text} or {message}. */
export async function drawAccuracy(node, {plotly, household}) {
  const answer = await api(`/api/v1/households/${encodeURIComponent(household)}/forecast/accuracy`, {household});
  if (!answer.ok) return clear(node, answer.message);
  const doc = answer.data;
  const hours = doc.hours;
  const x = hours.map((h) => wallClock(h.ts, doc.timezone));  // the day in the household's time
  const Plotly = await loadPlotly(plotly);
  node.hidden = false;
  await Plotly.react(node, [
    {x, y: hours.map((h) => h.actual_kwh), type: "bar", name: "What happened (metered kWh)",
      marker: {color: "rgba(96,125,139,0.55)", line: {color: "#37474f", width: 1}},
      hovertemplate: "%{x}<br>actual %{y:.2f} kWh<extra></extra>"},
    {x, y: hours.map((h) => h.forecast_kwh.p90), type: "scatter", mode: "lines", line: {width: 0},
      name: "P90", showlegend: false, hoverinfo: "skip"},
    {x, y: hours.map((h) => h.forecast_kwh.p10), type: "scatter", mode: "lines", line: {width: 0},
      fill: "tonexty", fillcolor: "rgba(46,125,50,0.2)", name: "Forecast P10–P90"},
    {x, y: hours.map((h) => h.forecast_kwh.p50), type: "scatter", mode: "lines+markers",
      line: {color: "#1b5e20", width: 2, dash: "dash"}, marker: {symbol: "diamond"},
      name: "Forecast P50 (issued at midnight)"},
  ], {...LAYOUT, yaxis: {...LAYOUT.yaxis, title: {text: "kWh per hour"}}, bargap: 0.15,
    xaxis: {type: "date", title: {text: `hour starting, ${doc.timezone}`}}}, CONFIG);
  node.dataset.hours = String(hours.length);
  node.dataset.wape = doc.wape_pct === null ? "" : String(doc.wape_pct);
  const pct = (v, signed = false) => (v === null ? "—" : `${signed && v > 0 ? "+" : ""}${v.toFixed(1)} %`);
  const text = doc.wape_pct === null
    ? `${doc.day}: no energy was metered in the hours compared, so there is no error to give.`
    : `${doc.day}: forecast error ${pct(doc.wape_pct)} of the energy used, hour by hour (WAPE over ` +
      `${doc.hours_compared} hours) · day total ${pct(doc.daily_energy_error_pct, true)} ` +
      `(forecast ${doc.forecast_kwh.toFixed(2)} kWh, actual ${doc.actual_kwh.toFixed(2)} kWh) · ` +
      `${pct(doc.band_coverage_pct)} of hours inside the P10–P90 band.`;
  return {text, wape: doc.wape_pct};
}
