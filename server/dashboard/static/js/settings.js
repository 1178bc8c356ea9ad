// Settings of the chosen household: alerts, tariff, members, keys and consent, each a form over
// its API route. A refusal shows the API's own message (it names the bad field and value).
// Members and keys need a signed-in user (keys: an owner); consent shows only where the server
// has its route.

import {api, getSession} from "./api.js";
import {dateTime, el, markField, refusal, refusedWith, say} from "./format.js";

const enc = encodeURIComponent;
const $ = (id) => document.getElementById(id);

function markInvalid(form, answer) {
  const match = /^([a-z_]+)(?:\.([a-z_]+))?:/.exec(refusedWith(answer));
  const name = !match ? null : match[2] === "start" || match[2] === "end" ? `quiet_${match[2]}` : match[1];
  markField(form, name);
}

function submitting(form, handler) {
  form.onsubmit = async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    try { await handler(); } finally { for (const b of buttons) b.disabled = false; }
  };
}

const base = (ctx) => `/api/v1/households/${enc(ctx.household)}`;

// -- alerts -----------------------------------------------------------------------------------
async function alerts(ctx) {
  const form = $("alerts-form");
  const answer = await api(`${base(ctx)}/alert-settings`, {household: ctx.household});
  if (!answer.ok) {
    form.hidden = true;
    return say("alerts-form-msg", answer.status === 403 ? refusal(answer) : answer.message);
  }
  say("alerts-form-msg", "");
  const show = (doc) => {
    form.elements.enabled.checked = Boolean(doc.enabled);
    form.elements.cooldown_min.value = doc.cooldown_min;
    form.elements.notify_recovery.checked = Boolean(doc.notify_recovery);
    form.elements.quiet.checked = Boolean(doc.quiet_hours);
    form.elements.quiet_start.value = doc.quiet_hours ? doc.quiet_hours.start : "";
    form.elements.quiet_end.value = doc.quiet_hours ? doc.quiet_hours.end : "";
  };
  show(answer.data.settings || answer.data);
  form.hidden = false;
  submitting(form, async () => {
    const f = form.elements;
    const cooldown = f.cooldown_min.value.trim();
    const body = {
      enabled: f.enabled.checked,
      notify_recovery: f.notify_recovery.checked,
      cooldown_min: /^\d+$/.test(cooldown) ? Number(cooldown) : cooldown,
      quiet_hours: f.quiet.checked ? {start: f.quiet_start.value, end: f.quiet_end.value} : null,
    };
    const saved = await api(`${base(ctx)}/alert-settings`, {household: ctx.household, method: "PUT", body});
    markInvalid(form, saved);
    if (!saved.ok) return say("alerts-form-msg", refusal(saved, "Not saved"));
    show(saved.data.settings || saved.data);
    say("alerts-form-msg", "Alert settings saved.", "ok");
  });
}

// -- tariff -----------------------------------------------------------------------------------
function describeTariff(tariff) {
  if (!tariff) return "No tariff set: costs are not computed.";
  const kind = {flat: "Flat", tou: "Time of use", time_of_use: "Time of use", dynamic: "Dynamic"}[tariff.type] || tariff.type;
  const price = tariff.price_per_kwh !== undefined && tariff.price_per_kwh !== null ? `, ${tariff.price_per_kwh} ${tariff.currency}/kWh` : "";
  const name = tariff.name && tariff.name.toLowerCase() !== String(tariff.type).toLowerCase() ? `${tariff.name} · ` : "";
  return `Now: ${name}${kind}${price}, standing charge ${tariff.standing_charge_per_day || 0} ${tariff.currency}/day.`;
}

async function tariff(ctx) {
  const form = $("tariff-form");
  const answer = await api(`${base(ctx)}/tariff`, {household: ctx.household});
  if (!answer.ok) {
    form.hidden = true;
    $("tariff-now").textContent = "";
    return say("tariff-form-msg", answer.message);
  }
  const show = (t) => {
    $("tariff-now").textContent = describeTariff(t);
    form.elements.name.value = t && t.name ? t.name : "";
    form.elements.currency.value = t ? t.currency : "";
    form.elements.price_per_kwh.value = t && t.price_per_kwh !== undefined && t.price_per_kwh !== null ? t.price_per_kwh : "";
    form.elements.standing_charge_per_day.value = t ? t.standing_charge_per_day || 0 : "";
  };
  show(answer.data.tariff);
  say("tariff-form-msg", "");
  form.hidden = false;
  const number = (value) => (value.trim() !== "" && Number.isFinite(Number(value)) ? Number(value) : value.trim());
  submitting(form, async () => {
    const f = form.elements;
    const body = {type: "flat", currency: f.currency.value.trim().toUpperCase(),
      price_per_kwh: number(f.price_per_kwh.value), standing_charge_per_day: number(f.standing_charge_per_day.value || "0")};
    if (f.name.value.trim()) body.name = f.name.value.trim();
    const saved = await api(`${base(ctx)}/tariff`, {household: ctx.household, method: "PUT", body});
    markInvalid(form, saved);
    if (!saved.ok) return say("tariff-form-msg", refusal(saved, "Not saved"));
    show(saved.data.tariff);
    say("tariff-form-msg", "Tariff saved: costs use it from now on.", "ok");
  });
}

// -- members ----------------------------------------------------------------------------------
const ROLE_TEXT = {owner: "Owner", member: "Member", viewer: "Viewer"};

async function members(ctx) {
  const list = $("member-list");
  const form = $("invite-form");
  list.replaceChildren();
  form.hidden = true;
  if (!getSession()) return say("members-msg", "Sign in to see and manage who shares this household.", "info");
  if (!ctx.role) return say("members-msg", "You have no role in this household, so its members are not shown.", "info");
  const answer = await api(`${base(ctx)}/members`);
  if (!answer.ok) return say("members-msg", refusal(answer));
  say("members-msg", "");
  const owner = ctx.role === "owner";
  const me = getSession().user.id;
  for (const m of answer.data.members) {
    const who = `${m.name}${m.email ? ` <${m.email}>` : ""}${m.user_id === me ? " (you)" : ""}`;
    const row = el("div", {class: "row"}, el("span", {class: "title", text: who}));
    if (owner) {
      const id = `role-${m.user_id}`;
      const select = el("select", {id, class: "field", "aria-label": `Role of ${m.name}`},
        ...Object.entries(ROLE_TEXT).map(([value, text]) => el("option", {value, text})));
      select.value = m.role;
      row.append(select,
        el("button", {type: "button", text: "Change role", "aria-label": `Change role of ${m.name}`,
          onclick: async () => {
            const done = await api(`${base(ctx)}/members/${m.user_id}`, {method: "PATCH", body: {role: select.value}});
            if (!done.ok) return say("members-msg", refusal(done, "Not changed"));
            say("members-msg", `${m.name} is now ${ROLE_TEXT[done.data.role].toLowerCase()}.`, "ok");
          }}),
        el("button", {type: "button", text: m.user_id === me ? "Leave" : "Revoke",
          "aria-label": m.user_id === me ? "Leave this household" : `Revoke ${m.name}`,
          onclick: async () => {
            const done = await api(`${base(ctx)}/members/${m.user_id}`, {method: "DELETE"});
            if (!done.ok) return say("members-msg", refusal(done, "Not changed"));
            await members(ctx);
            say("members-msg", `${m.name} no longer has a role here.`, "ok");
          }}));
    } else {
      row.append(el("span", {class: "pill", text: ROLE_TEXT[m.role] || m.role}));
    }
    list.append(el("li", {dataset: {member: String(m.user_id)}}, row,
      el("p", {class: "note", text: `Since ${dateTime(m.since, ctx.info.timezone)}`})));
  }
  if (!owner) return;
  form.hidden = false;
  submitting(form, async () => {
    const body = {email: form.elements.email.value.trim(), role: form.elements.role.value};
    const done = await api(`${base(ctx)}/members`, {method: "POST", body});
    markInvalid(form, done);
    if (!done.ok) return say("members-msg", refusal(done, "Not invited"));
    form.reset();
    await members(ctx);
    say("members-msg", `${done.data.name} is now a ${done.data.role}.`, "ok");
  });
}

// -- keys -------------------------------------------------------------------------------------
async function keys(ctx) {
  const list = $("key-list");
  const form = $("key-create-form");
  list.replaceChildren();
  form.hidden = true;
  $("key-new").hidden = true;
  if (!getSession()) return say("keys-msg", "Sign in as an owner to manage the keys (python -m server keys create makes one too).", "info");
  if (ctx.role !== "owner") return say("keys-msg", "Only the household's owners manage its keys.", "info");
  const answer = await api(`${base(ctx)}/keys`);
  if (!answer.ok) return say("keys-msg", refusal(answer));
  say("keys-msg", answer.data.keys.length ? "" : "No live keys.", "info");
  for (const k of answer.data.keys) {
    const label = k.label || "(no label)";
    list.append(el("li", {dataset: {key: k.key_id}},
      el("div", {class: "row"},
        el("span", {class: "title", text: `${label} · gl_${k.key_id}_…`}),
        el("button", {type: "button", text: "Revoke", "aria-label": `Revoke key ${label} (${k.key_id})`,
          onclick: async () => {
            const done = await api(`${base(ctx)}/keys/${enc(k.key_id)}`, {method: "DELETE"});
            if (!done.ok) return say("keys-msg", refusal(done, "Not revoked"));
            await keys(ctx);
            say("keys-msg", `Key ${label} is revoked: it no longer works anywhere.`, "ok");
          }})),
      el("p", {class: "note", text: `Created ${dateTime(k.created, ctx.info.timezone)} · ` +
        (k.last_used ? `last used ${dateTime(k.last_used, ctx.info.timezone)}` : "never used")})));
  }
  form.hidden = false;
  submitting(form, async () => {
    const label = form.elements.label.value.trim();
    const done = await api(`${base(ctx)}/keys`, {method: "POST", body: label ? {label} : {}});
    markInvalid(form, done);
    if (!done.ok) return say("keys-msg", refusal(done, "No key created"));
    form.reset();
    await keys(ctx);
    $("key-secret").textContent = done.data.key;
    $("key-new").hidden = false;
    say("keys-msg", `Key ${done.data.label || done.data.key_id} created.`, "ok");
  });
}

// -- consent ----------------------------------------------------------------------------------
/** The purposes of GET …/consent ({version, consents: {purpose: {granted, version, updated, by}}})
 * as [{purpose, granted}]. */
function purposes(data) {
  return Object.entries(data.consents || {}).map(([purpose, v]) => ({purpose, granted: Boolean(v && v.granted)}));
}

async function consent(ctx) {
  const panel = $("set-consent");
  const form = $("consent-form");
  const answer = await api(`${base(ctx)}/consent`, {household: ctx.household});
  const absent = answer.status === 404 && !(answer.data && answer.data.error && answer.data.error.code === "unknown_household");
  if (absent || answer.status === 405) {
    panel.hidden = true;  // this server has no consent route
    return;
  }
  panel.hidden = false;
  form.replaceChildren();
  if (!answer.ok) return say("consent-msg", answer.status === 403 ? refusal(answer) : answer.message);
  say("consent-msg", "");
  const items = purposes(answer.data);
  for (const item of items) {
    form.append(el("label", {class: "check"},
      el("input", {type: "checkbox", name: item.purpose, checked: item.granted}),
      document.createTextNode(` ${item.purpose.charAt(0).toUpperCase()}${item.purpose.slice(1)}`)));
  }
  form.append(el("button", {type: "submit", text: "Save consent"}));
  submitting(form, async () => {
    // PUT …/consent: each purpose given or withdrawn, for the wording version the page showed
    const chosen = Object.fromEntries(items.map((i) => [i.purpose, form.elements[i.purpose].checked]));
    const body = {version: answer.data.version, ...chosen};
    const done = await api(`${base(ctx)}/consent`, {household: ctx.household, method: "PUT", body});
    if (!done.ok) return say("consent-msg", refusal(done, "Not saved"));
    say("consent-msg", "Consent saved.", "ok");
  });
}

/** Every settings panel of the household in ``ctx`` ({household, info, role, keyed}). */
export async function loadSettings(ctx) {
  await Promise.all([alerts(ctx), tariff(ctx), members(ctx), keys(ctx), consent(ctx)]
    .map((p) => p.catch((err) => console.warn(err))));
}

/** The "add a household" form of a signed-in user; ``added(id)`` is called with the new id. */
export function newHousehold(added) {
  const panel = $("set-new");
  const form = $("new-household-form");
  panel.hidden = !getSession();
  if (!form.elements.timezone.value) {
    try { form.elements.timezone.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC"; } catch (err) { form.elements.timezone.value = "UTC"; }
  }
  submitting(form, async () => {
    const f = form.elements;
    const body = {id: f.id.value.trim(), timezone: f.timezone.value.trim() || "UTC",
      channels: f.channels.value.split(",").map((c) => c.trim()).filter(Boolean)};
    if (f.name.value.trim()) body.name = f.name.value.trim();
    const done = await api("/api/v1/households", {method: "POST", body});
    markInvalid(form, done);
    if (!done.ok) return say("new-msg", refusal(done, "Not added"));
    form.reset();
    say("new-msg", `Household ${done.data.household.id} added; you are its owner. Its meter key (shown once): ${done.data.key}`, "ok");
    await added(done.data.household.id);
  });
}
