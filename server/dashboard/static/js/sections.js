// The list sections: cost and carbon, alerts, recommendations, devices, reports. Each answers
// a refusal (401/403/404/409, ...) with a short message in its own section, never by breaking
// the page.

import {api, download} from "./api.js";
import {dateTime, el, levelText, localDate, money, number} from "./format.js";

const enc = encodeURIComponent;

export function showMessage(id, text) {
  const node = document.getElementById(id);
  node.textContent = text || "";
  node.hidden = !text;
}

function wholeHouse(values, channels) {
  if (!values) return null;
  if (values.Overall !== undefined) return values.Overall;
  const known = channels.map((c) => values[c]).filter((v) => typeof v === "number");
  return known.length ? known.reduce((a, b) => a + b, 0) : null;
}

/** Cost and carbon today and this month, from the daily rollups' cost and co2_kg. */
export async function loadMoney(ctx) {
  const list = document.getElementById("money-figures");
  list.replaceChildren();
  const nowS = Math.floor(Date.now() / 1000);
  const answer = await api(`/api/v1/households/${enc(ctx.household)}/readings?resolution=1d` +
    `&from=${nowS - 40 * 86400}&to=${nowS + 1}`, {household: ctx.household});
  if (!answer.ok) return showMessage("money-msg", answer.message);
  const tz = ctx.info.timezone || undefined;
  const today = localDate(new Date(), tz);
  const month = today.slice(0, 7);
  const sums = {today: {kwh: 0, cost: 0, co2: 0, n: 0}, month: {kwh: 0, cost: 0, co2: 0, n: 0}};
  for (const row of answer.data.readings) {
    const day = localDate(new Date(row.ts), tz);
    const into = [];
    if (day === today) into.push(sums.today);
    if (day.slice(0, 7) === month) into.push(sums.month);
    for (const s of into) {
      s.kwh += wholeHouse(row.energy_kwh, ctx.info.channels) || 0;
      const cost = wholeHouse(row.cost, ctx.info.channels);
      s.cost = cost === null || s.cost === null ? null : s.cost + cost;
      s.co2 += wholeHouse(row.co2_kg, ctx.info.channels) || 0;
      s.n += 1;
    }
  }
  const currency = answer.data.currency;
  const figure = (label, value, key) => el("div", {dataset: {figure: key}}, el("dt", {text: label}), el("dd", {text: value}));
  for (const [key, label] of [["today", "Today"], ["month", "This month"]]) {
    const s = sums[key];
    list.append(
      figure(`${label}: energy`, s.n ? `${number(s.kwh, 1)} kWh` : "—", `${key}-kwh`),
      figure(`${label}: cost`, s.n ? money(s.cost, currency) : "—", `${key}-cost`),
      figure(`${label}: carbon`, s.n ? `${number(s.co2, 1)} kg CO₂` : "—", `${key}-co2`));
  }
  const carbon = answer.data.carbon;
  document.getElementById("money-note").textContent =
    `Tariff: ${answer.data.tariff || "none"}${carbon ? ` · grid ${carbon.zone} at ${carbon.g_per_kwh} g CO₂/kWh` : ""}. ` +
    `Days in the household's timezone (${tz || "UTC"}).`;
  showMessage("money-msg", sums.month.n ? "" : "No readings stored this month yet.");
}

export async function loadAlerts(ctx) {
  const list = document.getElementById("alert-list");
  list.replaceChildren();
  const answer = await api(`/api/v1/households/${enc(ctx.household)}/alerts?limit=20`, {household: ctx.household});
  if (!answer.ok) return showMessage("alerts-msg", answer.message);
  for (const alert of answer.data.alerts) {
    list.append(el("li", {dataset: {alert: String(alert.id)}},
      el("div", {class: "row"},
        el("span", {class: "pill", dataset: {level: alert.level || ""}, text: alert.level ? levelText(alert.level) : alert.kind}),
        el("span", {class: "title", text: alert.message}),
        el("time", {datetime: alert.ts, text: dateTime(alert.ts, ctx.info.timezone)})),
      el("p", {class: "note", text: `${alert.rule} ${alert.kind}${alert.quiet_hours ? " · in quiet hours" : ""}`})));
  }
  showMessage("alerts-msg", answer.data.alerts.length ? "" : "No alerts: nothing unusual so far.");
}

export async function loadTips(ctx) {
  const list = document.getElementById("tip-list");
  list.replaceChildren();
  const answer = await api(`/api/v1/households/${enc(ctx.household)}/recommendations`, {household: ctx.household});
  if (!answer.ok) return showMessage("tips-msg", answer.message);
  const currency = answer.data.currency;
  for (const rec of answer.data.recommendations) {
    const saving = rec.saving_per_month || {};
    const status = el("p", {class: "note", role: "status"});
    const apply = rec.action ? el("button", {type: "button", text: "Apply",
      "aria-label": `Apply: ${rec.title}`,
      onclick: async (event) => {
        event.target.disabled = true;
        status.textContent = "Applying…";
        const done = await api(`/api/v1/households/${enc(ctx.household)}/recommendations/${enc(rec.id)}/apply`,
          {household: ctx.household, method: "POST", body: {}});
        status.textContent = done.ok ? `Scheduled as load “${done.data.load.id}”; the plan is updated.` : done.message;
        if (done.ok) document.dispatchEvent(new CustomEvent("gridlight:schedule"));
        event.target.disabled = false;
      }}) : null;
    list.append(el("li", {dataset: {recommendation: rec.id}},
      el("div", {class: "row"}, el("span", {class: "title", text: rec.title}), apply),
      el("p", {text: rec.detail}),
      el("p", {class: "note", text: `Saves about ${money(saving.money, currency)}, ${number(saving.energy_kwh, 1)} kWh ` +
        `and ${number(saving.co2_kg, 1)} kg CO₂ a month · confidence ${rec.confidence}`}),
      status));
  }
  showMessage("tips-msg", answer.data.recommendations.length ? "" : "No recommendations yet.");
}

/** Devices and their state; ``onCommand`` (from the stream's command events) updates them. */
export async function loadDevices(ctx) {
  const list = document.getElementById("device-list");
  list.replaceChildren();
  const answer = await api(`/api/v1/households/${enc(ctx.household)}/controls`, {household: ctx.household});
  if (!answer.ok) return showMessage("devices-msg", answer.message);
  for (const device of answer.data.devices) {
    const state = el("span", {class: "pill", dataset: {state: "unknown"}, text: "state unknown"});
    const send = (action) => async (event) => {
      event.target.disabled = true;
      const done = await api(`/api/v1/households/${enc(ctx.household)}/controls/${enc(device.id)}/commands`,
        {household: ctx.household, method: "POST", body: {action}});
      event.target.disabled = false;
      if (done.ok) showCommand(done.data);
      else state.textContent = done.message;
    };
    const buttons = (device.capabilities || []).includes("on_off") ? [
      el("button", {type: "button", text: "On", "aria-label": `Turn ${device.name || device.id} on`, onclick: send("on")}),
      el("button", {type: "button", text: "Off", "aria-label": `Turn ${device.name || device.id} off`, onclick: send("off")}),
    ] : [];
    list.append(el("li", {dataset: {device: device.id}},
      el("div", {class: "row"}, el("span", {class: "title", text: device.name || device.id}), state, ...buttons),
      el("p", {class: "note", text: `${device.kind.replace("_", " ")}${device.power_kw ? ` · ${device.power_kw} kW` : ""}`})));
  }
  showMessage("devices-msg", answer.data.devices.length ? "" : "No controllable devices registered.");
}

const COMMAND_TEXT = {pending: "sent, waiting", acked: "done", failed: "failed", expired: "no answer"};

export function showCommand(command) {
  const item = document.querySelector(`#device-list li[data-device="${CSS.escape(command.device)}"] .pill`);
  if (!item) return;
  item.dataset.state = command.status;
  item.dataset.command = command.id;
  item.textContent = `${command.action}: ${COMMAND_TEXT[command.status] || command.status}`;
}

export async function loadReports(ctx) {
  const list = document.getElementById("report-list");
  list.replaceChildren();
  const answer = await api(`/api/v1/households/${enc(ctx.household)}/reports`, {household: ctx.household});
  if (!answer.ok) return showMessage("reports-msg", answer.message);
  for (const report of answer.data.reports) {
    const s = report.summary || {};
    const link = el("a", {href: report.url, download: `gridlight-${ctx.household}-${report.month}.pdf`,
      text: `Download ${report.month} (PDF, ${Math.ceil(report.size_bytes / 1024)} kB)`,
      onclick: ctx.keyed ? (event) => {
        event.preventDefault();
        download(report.url, `gridlight-${ctx.household}-${report.month}.pdf`, ctx.household)
          .catch((err) => showMessage("reports-msg", err.message));
      } : undefined});
    list.append(el("li", {dataset: {report: report.month}},
      el("div", {class: "row"}, el("span", {class: "title", text: report.month}), link),
      el("p", {class: "note", text: `${number(s.energy_kwh, 0)} kWh · ${money(s.cost, s.currency)} · ${number(s.co2_kg, 0)} kg CO₂`})));
  }
  showMessage("reports-msg", answer.data.reports.length ? "" : "No monthly reports yet: the first comes after a full month.");
}
