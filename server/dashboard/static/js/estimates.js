// Settings → Appliance estimates: a household with only a whole-house meter gets appliance
// channels estimated live once its owner attaches a model from the deployment's catalog (what the
// operator published with `python -m server nilm publish`).
//
// * GET …/estimates lists the attached models and the estimator's state, written out in words
//   ("waiting for history: 120 of 498 model windows"); Detach is DELETE …/estimates/{appliance}.
// * GET …/estimates/catalog fills the form's select with the models this household could attach
//   now; Attach is PUT …/estimates/{appliance} {"model", "rated_w"?}. A refusal shows the API's
//   own sentence next to the form and marks the field it concerns aria-invalid.
// * Owners only: signed out, a member or viewer (403), or a household served from a dataset
//   (409 not_live) gets the explanation and no form.

import {api, getSession} from "./api.js";
import {dateTime, el, markField, refusal, refusedWith, say, watts} from "./format.js";

const enc = encodeURIComponent;
const $ = (id) => document.getElementById(id);
const base = (ctx) => `/api/v1/households/${enc(ctx.household)}/estimates`;
const count = (n) => (n === null || n === undefined ? "?" : new Intl.NumberFormat("en").format(n));

let shown = null;  // the household context being drawn: a later choice wins over a slow answer

/** Mark the field a refusal names ("rated_w: a rating of 20000 W is not within …"); returns it. */
function markInvalid(form, answer) {
  const named = /^([a-z_]+):/.exec(refusedWith(answer));
  return markField(form, named ? named[1] : null);
}

/** The answer to a change made for household ``ctx`` that came back after another household
 * was chosen: said with the household's name, since the panel shows the other one now. */
function late(ctx, answer, done) {
  return say("estimates-msg", `Household ${ctx.household}: ${answer.ok ? done : refusal(answer)}`,
    answer.ok ? "ok" : "error");
}

/** "14:03" on the household's clock, or the date too when it is not within the last day. */
function when(iso, timeZone) {
  const date = new Date(iso);
  if (Date.now() - date.getTime() > 86400000) return dateTime(iso, timeZone);
  return new Intl.DateTimeFormat("en-GB", {timeZone: timeZone || undefined, hour: "2-digit", minute: "2-digit",
    hourCycle: "h23"}).format(date);
}

/** The estimator's state of an attached model, in words. */
export function stateText(estimate, timeZone) {
  switch (estimate.state) {
    case "pending": return "pending: the estimator takes it up shortly";
    case "starting": return "starting: waiting for the first model window to close";
    case "waiting_for_history":
      return `waiting for history: ${count(estimate.have_samples)} of ${count(estimate.need_samples)} model windows`;
    case "estimating":
      return estimate.last_estimate_of
        ? `estimating, last estimate ${when(estimate.last_estimate_of, timeZone)}`
        : "estimating";
    case "failed": return `failed: ${estimate.reason || "no reason given"}`;
    default: return estimate.state || "state unknown";
  }
}

function trainedOn(doc) {
  return doc.trained_on && doc.trained_on.household ? `household ${doc.trained_on.household}` : "another household";
}

function modelLabel(m, attached) {
  const replaces = attached.has(m.appliance) ? " (replaces the attached one)" : "";
  return `${m.name}: ${m.appliance}, learned ${watts(m.on_level_w)} on ${trainedOn(m)}${replaces}`;
}

/** The chosen model in full (the select may be too narrow for its label on a phone). */
function modelAbout(m, attached) {
  const history = m.need_samples && m.model_resolution_s
    ? ` It needs ${count(m.need_samples)} windows of ${m.model_resolution_s} s (${hours(m.need_samples * m.model_resolution_s)}) of history before its first estimate.`
    : "";
  const replaces = attached.has(m.appliance) ? ` Attaching it replaces the ${m.appliance} model attached now.` : "";
  return `${m.appliance}, learned ${watts(m.on_level_w)} when on, on ${trainedOn(m)}.${history}${replaces}`;
}

function hours(seconds) {
  const minutes = Math.round(seconds / 60);
  const h = Math.floor(minutes / 60);
  const min = minutes % 60;
  return h ? `${h} h${min ? ` ${min} min` : ""}` : `${min} min`;
}

function row(ctx, estimate) {
  const rating = estimate.rated_w !== null && estimate.rated_w !== undefined
    ? `rated ${watts(estimate.rated_w)} here (learned ${watts(estimate.on_level_w)})`
    : `learned ${watts(estimate.on_level_w)}, no rating`;
  const label = `${estimate.appliance} · ${estimate.model || "(unnamed model)"}`;
  return el("li", {dataset: {appliance: estimate.appliance, state: estimate.state || ""}},
    el("div", {class: "row"},
      el("span", {class: "title", text: label}),
      el("button", {type: "button", text: "Detach", "aria-label": `Detach ${label}`, onclick: async (event) => {
        event.target.disabled = true;
        const done = await api(`${base(ctx)}/${enc(estimate.appliance)}`, {method: "DELETE"});
        const gone = `${estimate.appliance} is no longer estimated (the estimates written stay).`;
        if (shown !== ctx) return late(ctx, done, gone);
        if (!done.ok) {
          event.target.disabled = false;
          return say("estimates-msg", refusal(done, "Not detached"));
        }
        await loadEstimates(ctx);
        if (shown !== ctx) return late(ctx, done, gone);
        say("estimates-msg", gone, "ok");
        $("set-estimates-h").focus();  // the button is gone with its row
      }})),
    el("p", {class: "note", text: `Trained on ${trainedOn(estimate)} · ${rating}`}),
    el("p", {class: "note state", text: `State: ${stateText(estimate, ctx.info.timezone)}`}));
}

/** The Appliance estimates panel of the household in ``ctx`` ({household, info, role}); its
 * ``data-household`` is set once drawn. */
export async function loadEstimates(ctx) {
  shown = ctx;
  const panel = $("set-estimates");
  const form = $("estimate-form");
  const list = $("estimate-list");
  const note = $("estimate-catalog-note");
  delete panel.dataset.household;
  // nothing of the household drawn before may be used while this one loads
  panel.inert = true;
  panel.setAttribute("aria-busy", "true");
  const drawn = () => {
    panel.dataset.household = ctx.household;
    panel.inert = false;
    panel.removeAttribute("aria-busy");
  };
  const reset = () => {
    list.replaceChildren();
    form.hidden = true;
    note.hidden = true;
  };
  if (!getSession()) {
    reset();
    say("estimates-msg", "Sign in as one of the household's owners to attach appliance models.", "info");
    return drawn();
  }
  const [answer, catalog] = await Promise.all([api(base(ctx)), api(`${base(ctx)}/catalog`)]);
  if (shown !== ctx) return undefined;
  reset();
  const explained = (refused) => say("estimates-msg", refusal(refused),
    refused.status === 403 || refused.status === 409 ? "info" : "error");
  if (!answer.ok) {
    explained(answer);
    return drawn();
  }
  say("estimates-msg", "");
  const estimates = answer.data.estimates;
  for (const estimate of estimates) list.append(row(ctx, estimate));
  if (!estimates.length && answer.data.live) list.append(el("li", {class: "note", text: "No appliance is estimated yet."}));
  if (!catalog.ok) {
    explained(catalog);  // a household served from a dataset: 409 not_live says what to do
    return drawn();
  }
  const models = catalog.data.models;
  if (!models.length) {
    note.replaceChildren("No published model fits this household yet: the operator publishes models with ",
      el("code", {text: "python -m server nilm publish"}), ".");
    note.hidden = false;
    return drawn();
  }
  const select = form.elements.model;
  const previous = select.value;
  const attached = new Set(estimates.map((e) => e.appliance));
  select.replaceChildren(...models.map((m) => el("option", {value: m.name, text: modelLabel(m, attached)})));
  if (models.some((m) => m.name === previous)) select.value = previous;
  const about = () => {
    const chosen = models.find((m) => m.name === select.value);
    $("estimate-model-about").textContent = chosen ? modelAbout(chosen, attached) : "";
  };
  select.onchange = about;
  about();
  form.hidden = false;
  form.onsubmit = async (event) => {
    event.preventDefault();
    const buttons = form.querySelectorAll("button");
    for (const b of buttons) b.disabled = true;
    try {
      const chosen = models.find((m) => m.name === select.value);
      const raw = form.elements.rated_w.value.trim();
      const body = {model: chosen.name};
      // a bad rating is sent as typed: the API names it
      if (raw) body.rated_w = Number.isFinite(Number(raw)) ? Number(raw) : raw;
      const put = await api(`${base(ctx)}/${enc(chosen.appliance)}`, {method: "PUT", body});
      const rated = put.ok && put.data.rated_w ? `, rated ${watts(put.data.rated_w)}` : "";
      const done = `${chosen.appliance} is estimated by ${chosen.name}${rated}: the estimator takes it up shortly.`;
      if (shown !== ctx) return late(ctx, put, done);
      const field = markInvalid(form, put);
      if (!put.ok) {
        say("estimates-msg", refusal(put, "Not attached"));
        if (field) field.focus();
        return undefined;
      }
      form.elements.rated_w.value = "";
      await loadEstimates(ctx);
      if (shown !== ctx) return late(ctx, put, done);
      say("estimates-msg", done, "ok");
    } finally {
      for (const b of buttons) b.disabled = false;
    }
  };
  return drawn();
}
