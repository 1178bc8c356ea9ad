// Formatting shared by the sections: levels as words (colour is never the only signal), power,
// money, carbon and times in the household's own timezone.

export const LEVEL_TEXT = {
  green: "Green · usual",
  yellow: "Yellow · above usual",
  red: "Red · high",
  critical: "Critical · check now",
};

export function levelText(level, learning = false) {
  if (learning) return "Learning · no levels yet";
  return LEVEL_TEXT[level] || "No level";
}

export function kw(value) {
  return value === null || value === undefined || Number.isNaN(value) ? "—" : `${value.toFixed(2)} kW`;
}

export function number(value, digits = 2) {
  return value === null || value === undefined ? "—" : value.toFixed(digits);
}

/** Watts with thousands separators: "1,448 W" ("—" when unknown). */
export function watts(value) {
  if (value === null || value === undefined || !Number.isFinite(Number(value))) return "—";
  return `${new Intl.NumberFormat("en", {maximumFractionDigits: 0}).format(value)} W`;
}

export function money(value, currency) {
  if (value === null || value === undefined) return "—";
  try {
    return new Intl.NumberFormat(undefined, {style: "currency", currency: currency || "XXX",
      maximumFractionDigits: 2}).format(value);
  } catch (err) {
    return `${value.toFixed(2)} ${currency || ""}`.trim();
  }
}

/** "YYYY-MM-DD" of an instant in an IANA timezone (the household's). */
export function localDate(date, timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", {timeZone, year: "numeric", month: "2-digit",
    day: "2-digit"}).formatToParts(date);
  const get = (t) => parts.find((p) => p.type === t).value;
  return `${get("year")}-${get("month")}-${get("day")}`;
}

export function time(iso, timeZone) {
  const options = {hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false};
  if (timeZone) options.timeZone = timeZone;
  return new Date(iso).toLocaleTimeString([], options);
}

export function dateTime(iso, timeZone) {
  const options = {dateStyle: "medium", timeStyle: "short"};
  if (timeZone) options.timeZone = timeZone;
  return new Date(iso).toLocaleString([], options);
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "dataset") Object.assign(node.dataset, value);
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (name === "text") node.textContent = value;
    else node.setAttribute(name, value === true ? "" : value);
  }
  node.append(...children.filter((c) => c !== null && c !== undefined));
  return node;
}

/** "YYYY-MM-DD HH:MM:SS" of an instant on the wall clock of ``timeZone``: what a Plotly date axis
 * shows as is (it would show an ISO "…Z" time in UTC). */
export function wallClock(instant, timeZone) {
  const parts = new Intl.DateTimeFormat("en-CA", {timeZone, year: "numeric", month: "2-digit", day: "2-digit",
    hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23"}).formatToParts(new Date(instant));
  const get = (t) => parts.find((p) => p.type === t).value;
  return `${get("year")}-${get("month")}-${get("day")} ${get("hour")}:${get("minute")}:${get("second")}`;
}

/** Show ``text`` under a form: ``tone`` "error" (refused), "ok" (done) or "info" (a note). */
export function say(id, text, tone = "error") {
  const node = document.getElementById(id);
  node.textContent = text || "";
  node.hidden = !text;
  node.classList.toggle("ok", Boolean(text) && tone === "ok");
  node.classList.toggle("error", Boolean(text) && tone === "error");
}

/** The field a refusal names, for a form: every input's ``aria-invalid`` cleared, then set on
 * the input called ``name`` (none when ``name`` is null or no such input); returns that input. */
export function markField(form, name) {
  for (const input of form.querySelectorAll("[name]")) input.removeAttribute("aria-invalid");
  const input = name ? form.querySelector(`[name="${name}"]`) : null;
  if (input) input.setAttribute("aria-invalid", "true");
  return input;
}

/** The API's own sentence of a refusal (``""`` for an answer that is not one). */
export function refusedWith(answer) {
  return !answer.ok && answer.data && answer.data.error ? answer.data.error.message : "";
}

/** The API's own sentence for a refusal (a bad field is named first: "cooldown_min: expected
 * …"), else the general one; ``what`` says what did not happen ("Not saved"). */
export function refusal(answer, what = "") {
  const detail = answer.data && answer.data.error ? answer.data.error.message : "";
  const text = answer.status === 401 || answer.status === 0 || answer.status >= 500 || !detail ? answer.message : detail;
  return what ? `${what}: ${text}` : text.charAt(0).toUpperCase() + text.slice(1);
}
