// Devices from the page and the schedule as a timeline.
//
// * Settings → Devices: register, edit and remove the household's controllable devices. The
//   control API replaces the whole list (PUT …/controls {"devices": [...]}), so every change
//   reads the list, changes one device and puts the list back; a refusal shows the API's own
//   sentence (it names the field: "devices[2].power_kw: …") next to the form, and marks the field.
// * Devices → Schedule: the planned runs of GET …/schedule (what "apply" on a recommendation
//   creates) as a Plotly timeline, one row per device (or load), with the tariff's cheapest
//   hours shaded and named in the note.

import {api} from "./api.js";
import {el, markField, number, refusal, refusedWith, say, wallClock} from "./format.js";
import {loadPlotly} from "./charts.js";

const enc = encodeURIComponent;
const $ = (id) => document.getElementById(id);
const base = (ctx) => `/api/v1/households/${enc(ctx.household)}`;

/** The field a refusal names ("devices[3].power_kw: …" → power_kw; setpoint_c.min → setpoint_min). */
function markInvalid(form, answer) {
  const match = /^devices(?:\[\d+\])?\.([a-z_]+)(?:\.([a-z]+))?/.exec(refusedWith(answer));
  const name = !match ? null : match[1] === "setpoint_c" && match[2] ? `setpoint_${match[2]}` : match[1];
  markField(form, name);
}

/** The form's device, as the control API takes it (bad numbers are sent as typed: the API
 * names them). */
function formDevice(form) {
  const f = form.elements;
  const device = {id: f.id.value.trim(), kind: f.kind.value,
    capabilities: [...form.querySelectorAll("input[name=capabilities]:checked")].map((c) => c.value)};
  if (f.name.value.trim()) device.name = f.name.value.trim();
  const num = (raw) => (raw.trim() !== "" && Number.isFinite(Number(raw)) ? Number(raw) : raw.trim());
  if (f.power_kw.value.trim()) device.power_kw = num(f.power_kw.value);
  if (f.setpoint_min.value.trim() || f.setpoint_max.value.trim()) {
    device.setpoint_c = {min: num(f.setpoint_min.value), max: num(f.setpoint_max.value)};
  }
  return device;
}

function fill(form, device) {
  const f = form.elements;
  f.id.value = device ? device.id : "";
  f.id.readOnly = Boolean(device);
  f.name.value = device && device.name ? device.name : "";
  f.kind.value = device ? device.kind : "plug";
  for (const box of form.querySelectorAll("input[name=capabilities]")) {
    box.checked = device ? (device.capabilities || []).includes(box.value) : box.value === "on_off";
  }
  f.power_kw.value = device && device.power_kw !== undefined ? device.power_kw : "";
  f.setpoint_min.value = device && device.setpoint_c ? device.setpoint_c.min : "";
  f.setpoint_max.value = device && device.setpoint_c ? device.setpoint_c.max : "";
  form.dataset.editing = device ? device.id : "";
  $("device-submit").textContent = device ? `Save ${device.id}` : "Add device";
  $("device-cancel").hidden = !device;
}

/** The Devices panel of the settings; ``changed()`` reloads the devices section. */
export async function loadDeviceSettings(ctx, changed) {
  const form = $("device-form");
  const list = $("device-settings-list");
  list.replaceChildren();
  const answer = await api(`${base(ctx)}/controls`, {household: ctx.household});
  if (!answer.ok) {
    form.hidden = true;
    return say("device-form-msg", answer.message);
  }
  say("device-form-msg", "");
  form.hidden = false;
  fill(form, null);
  const put = async (devices, what, done) => {
    const saved = await api(`${base(ctx)}/controls`, {household: ctx.household, method: "PUT", body: {devices}});
    markInvalid(form, saved);
    if (!saved.ok) return say("device-form-msg", refusal(saved, what));
    await loadDeviceSettings(ctx, changed);
    say("device-form-msg", done, "ok");
    await changed();
  };
  for (const device of answer.data.devices) {
    const label = device.name ? `${device.name} (${device.id})` : device.id;
    list.append(el("li", {dataset: {device: device.id}},
      el("div", {class: "row"},
        el("span", {class: "title", text: label}),
        el("button", {type: "button", text: "Edit", "aria-label": `Edit ${label}`, onclick: () => {
          fill(form, device);
          form.elements.name.focus();
        }}),
        el("button", {type: "button", text: "Remove", "aria-label": `Remove ${label}`, onclick: async (event) => {
          event.target.disabled = true;
          const now = await api(`${base(ctx)}/controls`, {household: ctx.household});
          if (!now.ok) { event.target.disabled = false; return say("device-form-msg", refusal(now, "Not removed")); }
          await put(now.data.devices.filter((d) => d.id !== device.id), "Not removed", `${label} removed.`);
        }})),
      el("p", {class: "note", text: `${device.kind.replace("_", " ")} · ${(device.capabilities || []).join(", ")}` +
        `${device.power_kw !== undefined ? ` · ${device.power_kw} kW` : ""}`})));
  }
  if (!answer.data.devices.length) list.append(el("li", {class: "note", text: "No devices yet."}));
  $("device-cancel").onclick = () => { fill(form, null); say("device-form-msg", ""); };
  form.onsubmit = async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    try {
      const device = formDevice(form);
      const editing = form.dataset.editing;
      const now = await api(`${base(ctx)}/controls`, {household: ctx.household});
      if (!now.ok) return say("device-form-msg", refusal(now, "Not saved"));
      const others = now.data.devices.filter((d) => d.id !== (editing || device.id));
      if (!editing && others.length !== now.data.devices.length) {
        form.elements.id.setAttribute("aria-invalid", "true");
        return say("device-form-msg", `Not added: a device ${device.id} exists already (edit it instead).`);
      }
      const devices = editing
        ? now.data.devices.map((d) => (d.id === editing ? device : d))
        : [...now.data.devices, device];
      await put(devices, editing ? "Not saved" : "Not added",
        editing ? `${device.id} saved.` : `${device.id} added.`);
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  };
}

// -- the schedule as a timeline ---------------------------------------------------------------
const WEEKDAYS = {Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 0};

function minutesOf(clock) {
  const [h, m] = clock.split(":").map(Number);
  return h * 60 + m;
}

/** The tariff's price of the UTC hour starting at ``date`` (null: flat, or unknown). */
function hourPrice(tariff, date, timeZone) {
  if (!tariff) return null;
  if (tariff.type === "dynamic") {
    const iso = date.toISOString().replace(".000Z", "Z");
    const found = (tariff.prices || []).find((p) => p.ts === iso);
    return found ? found.price_per_kwh : null;
  }
  if (!tariff.periods) return null;
  const parts = new Intl.DateTimeFormat("en-GB", {timeZone: tariff.timezone || timeZone, weekday: "short",
    hour: "2-digit", minute: "2-digit", hourCycle: "h23"}).formatToParts(date);
  const get = (t) => parts.find((p) => p.type === t).value;
  const minute = Number(get("hour")) * 60 + Number(get("minute"));
  const weekend = [0, 6].includes(WEEKDAYS[get("weekday")]);
  for (const period of tariff.periods) {
    const days = period.days || "all";
    if (days !== "all" && (days === "weekend") !== weekend) continue;
    const start = minutesOf(period.start);
    const end = minutesOf(period.end);
    const inside = start < end ? minute >= start && minute < end : minute >= start || minute < end;
    if (inside) return period.price_per_kwh;
  }
  return null;
}

/** Runs of the cheapest hours between ``from`` and ``to`` (Dates): [{x0, x1}], and the price. */
export function cheapHours(tariff, from, to, timeZone) {
  const hours = [];
  for (let t = Math.floor(from.getTime() / 3600000) * 3600000; t < to.getTime(); t += 3600000) {
    hours.push({t, price: hourPrice(tariff, new Date(t), timeZone)});
  }
  const prices = hours.map((h) => h.price).filter((p) => typeof p === "number");
  if (!prices.length || Math.min(...prices) === Math.max(...prices)) return {runs: [], price: null};
  const low = Math.min(...prices);
  const runs = [];
  for (const h of hours) {
    if (h.price !== low) continue;
    const last = runs[runs.length - 1];
    if (last && last.x1 === h.t) last.x1 = h.t + 3600000;
    else runs.push({x0: h.t, x1: h.t + 3600000});
  }
  return {runs: runs.map((r) => ({x0: new Date(r.x0), x1: new Date(r.x1)})), price: low};
}

function clock(iso, timeZone) {
  return new Intl.DateTimeFormat("en-GB", {timeZone, weekday: "short", hour: "2-digit", minute: "2-digit",
    hourCycle: "h23"}).format(new Date(iso));
}

/** Draw the household's planned runs; the section's message says why when there are none. */
export async function loadSchedule(ctx, plotly) {
  const node = $("schedule-chart");
  const note = $("schedule-note");
  const list = $("schedule-list");
  note.textContent = "";
  list.replaceChildren();
  const answer = await api(`${base(ctx)}/schedule`, {household: ctx.household});
  const empty = (message) => {
    if (window.Plotly) window.Plotly.purge(node);
    node.hidden = true;
    delete node.dataset.runs;
    say("schedule-msg", message, "info");
  };
  if (!answer.ok) return empty(answer.message);
  const plan = answer.data.plan;
  const loads = plan ? plan.loads.filter((l) => l.slots.length) : [];
  if (!loads.length) return empty("Nothing is scheduled: “Apply” a recommendation, or PUT a schedule.");
  say("schedule-msg", "");
  const tz = ctx.info.timezone || "UTC";
  const devices = await api(`${base(ctx)}/controls`, {household: ctx.household});
  const names = Object.fromEntries(devices.ok ? devices.data.devices.map((d) => [d.id, d.name || d.id]) : []);
  const row = (load) => (load.device ? `${names[load.device] || load.device}` : `load ${load.id}`);
  const traces = loads.map((load) => ({
    type: "bar", orientation: "h", name: `${row(load)}: ${load.id}`,
    y: load.slots.map(() => row(load)),
    base: load.slots.map((s) => wallClock(s.start, tz)),  // the axis in the household's time
    x: load.slots.map((s) => new Date(s.end) - new Date(s.start)),
    text: load.slots.map((s) => `${clock(s.start, tz)}–${clock(s.end, tz).slice(-5)} · ${number(s.energy_kwh, 1)} kWh`),
    textposition: "inside", insidetextanchor: "middle", textangle: 0,
    marker: {color: "#2e7d32", line: {color: "#1b5e20", width: 1}},
    hovertemplate: `${load.id}: %{text}<extra></extra>`,
  }));
  const tariff = await api(`${base(ctx)}/tariff`, {household: ctx.household});
  const from = new Date(plan.start);
  const to = new Date(plan.end);
  const cheap = cheapHours(tariff.ok ? tariff.data.tariff : null, from, to, tz);
  const shapes = cheap.runs.map((r) => ({type: "rect", xref: "x", yref: "paper", x0: wallClock(r.x0, tz),
    x1: wallClock(r.x1, tz), y0: 0, y1: 1,
    fillcolor: "rgba(2,119,189,0.12)", line: {width: 0}, layer: "below"}));
  const Plotly = await loadPlotly(plotly);
  node.hidden = false;
  const rows = new Set(loads.map(row)).size;
  node.style.height = `${Math.max(220, 110 + 56 * rows)}px`;
  await Plotly.react(node, traces, {
    margin: {l: 80, r: 12, t: 8, b: 56}, barmode: "overlay", showlegend: false,
    xaxis: {type: "date", range: [wallClock(from, tz), wallClock(to, tz)], title: {text: `time in ${tz}`},
      nticks: 5, tickangle: 0}, yaxis: {automargin: true, fixedrange: true},
    shapes, paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
  }, {responsive: true, displaylogo: false, modeBarButtonsToRemove: ["lasso2d", "select2d"]});
  node.dataset.runs = String(loads.reduce((n, l) => n + l.slots.length, 0));
  node.dataset.loads = loads.map((l) => l.id).join(" ");
  // the same runs written out: the chart is not the only way to read them
  for (const load of loads) {
    for (const s of load.slots) {
      list.append(el("li", {dataset: {load: load.id}, text: `${row(load)} (${load.id}): ${clock(s.start, tz)}–` +
        `${clock(s.end, tz).slice(-5)}, ${number(s.energy_kwh, 1)} kWh at ${s.power_kw} kW`}));
    }
  }
  const currency = plan.currency || "";
  note.textContent = `Times in ${tz}. Planned cost ${number(plan.cost, 2)} ${currency}, saving ` +
    `${number(plan.saving, 2)} ${currency} against running at once.` +
    (cheap.runs.length ? ` Shaded: the tariff's cheapest hours (${cheap.price} ${currency}/kWh).` : "");
  node.dataset.cheap = String(cheap.runs.length);
}
