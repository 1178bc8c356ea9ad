// Gridlight dashboard: who is signed in (or the demo), the household picker and key, then every
// section of the chosen household and its settings.

import {api, getKey, getSession, setKey, setSession, authHeaders} from "./api.js";
import {drawAccuracy, drawForecast, drawHistory} from "./charts.js";
import {LiveStream} from "./live.js";
import {el, kw, levelText, time} from "./format.js";
import {loadAlerts, loadDevices, loadMoney, loadReports, loadTips, showCommand, showMessage} from "./sections.js";
import {loadSettings, newHousehold} from "./settings.js";
import {loadPush} from "./push.js";
import {loadDeviceSettings, loadSchedule} from "./devices.js";
import {loadUntracked} from "./untracked.js";
import {loadEstimates} from "./estimates.js";

const cfg = JSON.parse(document.getElementById("config").textContent);
const $ = (id) => document.getElementById(id);
const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  reconnecting: "Reconnecting…",
  ended: "Stream ended",
  error: "Not connected",
};

// What the page received, for whoever inspects it (the browser tests read it).
const trace = {events: [], connects: 0, states: []};
window.gridlight = trace;

let ctx = null;  // {household, info, keyed, role}
let roles = {};  // household → the signed-in user's role on it
let stream = null;
let stats = null;
let statsMessage = "";  // why no thresholds are drawn
let range = "day";

async function boot() {
  if ("serviceWorker" in navigator && cfg.service_worker) {
    navigator.serviceWorker.register(cfg.service_worker, {scope: "/"}).catch(() => undefined);
  }
  $("household").addEventListener("change", (event) => choose(event.target.value));
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setKey(ctx.household, $("key").value.trim());
    $("key").value = "";
    $("key-status").textContent = "Key saved in this browser.";
    choose(ctx.household);
  });
  $("key-forget").addEventListener("click", () => {
    setKey(ctx.household, null);
    $("key-status").textContent = "Key forgotten.";
    choose(ctx.household);
  });
  for (const button of document.querySelectorAll("#ranges button")) {
    button.addEventListener("click", () => {
      range = button.dataset.range;
      for (const b of document.querySelectorAll("#ranges button")) b.setAttribute("aria-pressed", String(b === button));
      history();
    });
  }
  $("history-channel").addEventListener("change", history);
  // "apply" on a recommendation re-plans the schedule: draw it again
  document.addEventListener("gridlight:schedule", () => ctx && loadSchedule(ctx, cfg.plotly).catch((err) => console.warn(err)));

  if (cfg.accounts && !(await signIn())) return;
  newHousehold(async (id) => { await signIn(); await pick(id); });
  await pick(null);
}

/** The signed-in user (GET /api/v1/session, then their roles from /me); signed out outside the
 * demo, off to the sign-in page (false). */
async function signIn() {
  const answer = await api(`${cfg.api}/session`);
  if (!answer.ok) {
    setSession(null);
    if (!cfg.demo) {
      location.assign(`${cfg.sign_in}?next=${encodeURIComponent(location.pathname + location.search)}`);
      return false;
    }
    $("sign-in-link").href = `${cfg.sign_in}?next=${encodeURIComponent(location.pathname + location.search)}`;
    $("sign-in-link").hidden = false;
    return true;
  }
  setSession({user: answer.data.user, csrf: answer.data.csrf_token});
  const me = await api(`${cfg.api}/me`);
  roles = Object.fromEntries(me.ok ? me.data.households.map((h) => [h.household, h.role]) : []);
  $("who").textContent = answer.data.user.name;
  $("who").hidden = false;
  $("sign-out").hidden = false;
  $("sign-in-link").hidden = true;
  $("key-box").hidden = true;  // the session replaces keys
  $("sign-out").onclick = async () => {
    const out = await api(`${cfg.api}/session`, {method: "DELETE"});
    if (!out.ok && out.status !== 401) return showMessage("live-msg", out.message);
    setSession(null);
    location.assign(cfg.sign_in);
  };
  document.body.dataset.user = String(answer.data.user.id);
  return true;
}

/** Fill the picker (the user's households, and the demo's in demo mode) and show ``wanted``. */
async function pick(wanted) {
  const answer = await api(`${cfg.api}/households`);
  if (!answer.ok) {
    showMessage("live-msg", answer.message);
    return;
  }
  performance.mark("gridlight-households");
  let households = answer.data.households;
  if (getSession()) {
    households = households.filter((h) => h.id in roles || (cfg.demo && cfg.demo_households.includes(h.id)));
  }
  const select = $("household");
  const label = (h) => `${h.name ? `${h.name} (${h.id})` : h.id}${roles[h.id] ? ` · ${roles[h.id]}` : ""}`;
  select.replaceChildren(...households.map((h) => el("option", {value: h.id, text: label(h)})));
  wanted = wanted || new URLSearchParams(location.search).get("household") || localStorage.getItem("gridlight.household");
  const first = households.find((h) => h.id === wanted) || households.find((h) => h.id in roles) ||
    households.find((h) => cfg.demo_households.includes(h.id)) || households[0];
  if (!first) {
    select.replaceChildren(el("option", {value: "", text: "No households"}));
    showMessage("live-msg", getSession()
      ? "You have no household yet: add one under Settings, or ask an owner to invite you."
      : "No households yet: add one with python -m server households add H.");
    document.body.dataset.loaded = "none";
    return;
  }
  select.value = first.id;
  choose(first.id, households);
}

let known = [];

async function choose(household, households) {
  if (households) known = households;
  localStorage.setItem("gridlight.household", household);
  const info = known.find((h) => h.id === household) || {id: household, channels: []};
  ctx = {household, info, keyed: getKey(household) !== null, role: roles[household] || null};
  $("key-household").textContent = household;
  $("key-box").querySelector("summary").textContent = ctx.keyed ? "API key ✓" : "API key";
  const channels = info.channels || [];
  $("history-channel").replaceChildren(...channels.map((c) => el("option", {value: c, text: c})));
  if (channels.includes("Overall")) $("history-channel").value = "Overall";
  startLive();
  // the sections load side by side; each shows its own message when its route refuses
  const withStats = api(`${cfg.api}/households/${encodeURIComponent(household)}/stats?interval=${cfg.interval_s}`, {household})
    .then((answer) => {
      stats = answer.ok ? answer.data : null;
      statsMessage = answer.ok ? "" : `Thresholds not drawn: ${answer.message}`;
      return history();
    });
  const devicesChanged = () => Promise.all([loadDevices(ctx), loadSchedule(ctx, cfg.plotly)]);
  await Promise.all([withStats, forecast(), loadUntracked(ctx, cfg.plotly), loadSchedule(ctx, cfg.plotly),
    loadDeviceSettings(ctx, devicesChanged), loadMoney(ctx), loadAlerts(ctx), loadPush(ctx), loadTips(ctx),
    loadDevices(ctx), loadReports(ctx), loadSettings(ctx), loadEstimates(ctx)].map((p) => p.catch((err) => console.warn(err))));
  performance.mark(`gridlight-loaded-${household}`);
  document.body.dataset.loaded = household;
}

// -- live tiles ---------------------------------------------------------------------------------
function setLiveState(state, detail) {
  const badge = $("live-status");
  badge.dataset.state = state;
  badge.textContent = STATE_TEXT[state] || state;
  trace.states.push(state);
  if (state === "live") trace.connects = detail.connects;
  if (state === "error") showMessage("live-msg", detail.message || explainStream(detail));
  else showMessage("live-msg", "");
}

function explainStream(detail) {
  const m = detail.data && detail.data.error ? `: ${detail.data.error.message}` : ".";
  if (detail.status === 401) return `The live stream needs ${ctx.household}'s API key: open “API key” at the top and paste it.`;
  return `The live stream is not available (HTTP ${detail.status})${m}`;
}

function startLive() {
  if (stream) stream.stop();
  $("tiles").replaceChildren();
  $("live-time").textContent = "Waiting for the first reading…";
  const url = `${cfg.api}/households/${encodeURIComponent(ctx.household)}/stream?interval=${cfg.interval_s}`;
  const household = ctx.household;
  stream = new LiveStream(url, {
    headers: authHeaders(household),
    onState: setLiveState,
    onEvent: (type, data, id) => {
      if (household !== ctx.household) return;
      if (type === "reading") {
        trace.events.push({id, ts: data.ts});
        if (trace.events.length > 1000) trace.events.shift();
        renderTiles(data);
      } else if (type === "command") {
        showCommand(data);
      } else if (type === "resync") {
        $("live-time").textContent = "Some readings were too old to resend; showing live values.";
      } else if (type === "insights") {
        forecast();
        loadTips(ctx);
      } else if (type === "error") {
        showMessage("live-msg", data && data.error ? data.error.message : "The stream reported an error.");
      }
    },
  });
  stream.start();
}

function renderTiles(reading) {
  const tiles = $("tiles");
  const estimated = reading.estimated || [];
  const items = Object.entries(reading.power_kw).map(([channel, value]) => {
    const level = reading.level ? reading.level[channel] : null;
    const text = value === null ? "No reading" : levelText(level, Boolean(reading.learning));
    return el("li", {class: "tile", dataset: {channel, level: level || ""},
      "aria-label": `${channel}: ${kw(value)}, ${text}`},
      el("span", {class: "ch", text: estimated.includes(channel) ? `${channel} (estimated)` : channel}),
      el("span", {class: "kw", text: kw(value)}),
      el("span", {class: "lvl", text}));
  });
  tiles.replaceChildren(...items);
  tiles.dataset.worst = reading.worst || "";
  $("live-time").textContent = `${time(reading.ts, ctx.info.timezone)} · ${reading.interval_s} s average` +
    (ctx.info.timezone ? ` · ${ctx.info.timezone}` : "");
}

// -- charts -------------------------------------------------------------------------------------
async function history() {
  const node = $("history-chart");
  const channel = $("history-channel").value;
  if (!channel) return showMessage("history-msg", "This household has no channels.");
  try {
    const out = await drawHistory(node, {plotly: cfg.plotly, household: ctx.household, range, channel, stats,
      nowS: Math.floor(Date.now() / 1000) + 1});
    showMessage("history-msg", out.message || statsMessage);
  } catch (err) {
    showMessage("history-msg", err.message);
  }
}

async function forecast() {
  try {
    const out = await drawForecast($("forecast-chart"), {plotly: cfg.plotly, household: ctx.household});
    showMessage("forecast-msg", out.message || "");
    $("forecast-note").textContent = out.note || "";
  } catch (err) {
    showMessage("forecast-msg", err.message);
  }
  try {
    const out = await drawAccuracy($("accuracy-chart"), {plotly: cfg.plotly, household: ctx.household});
    showMessage("accuracy-msg", out.message || "");
    $("accuracy-error").textContent = out.text || "";
  } catch (err) {
    showMessage("accuracy-msg", err.message);
  }
}

boot();
