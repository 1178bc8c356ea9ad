// The account pages (sign in, sign up, verify email, reset password, sign out): each form posts
// JSON to the accounts API and shows its answer; a refusal shows the API's own message, and the
// field it names is marked invalid.

const cfg = JSON.parse(document.getElementById("config").textContent);
const $ = (id) => document.getElementById(id);

async function call(method, path, body, headers = {}) {
  let response;
  try {
    response = await fetch(`${cfg.api}${path}`, {
      method, cache: "no-store", credentials: "same-origin",
      headers: {Accept: "application/json", ...(body ? {"Content-Type": "application/json"} : {}), ...headers},
      body: body ? JSON.stringify(body) : undefined,
    });
  } catch (err) {
    return {ok: false, status: 0, data: null, message: "The server could not be reached; check the connection and try again."};
  }
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  const message = data && data.error ? data.error.message : `The server answered HTTP ${response.status}.`;
  if (response.status === 429) {
    const wait = response.headers.get("Retry-After");
    return {ok: false, status: 429, data, message: `Too many attempts; try again${wait ? ` in ${wait} s` : " shortly"}.`};
  }
  return {ok: response.ok, status: response.status, data, message: response.ok ? "" : message};
}

function show(id, text) {
  const node = $(id);
  node.textContent = text || "";
  node.hidden = !text;
}

function problem(text, form) {
  show("done", "");
  show("problem", text);
  if (!form) return;
  for (const input of form.querySelectorAll("input")) input.removeAttribute("aria-invalid");
  // the API names the field first: "password: expected a password of 10 to 1024 characters"
  const field = /^([a-z_]+):/.exec(text || "");
  const input = field ? form.querySelector(`[name="${field[1]}"]`) : null;
  if (input) {
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", "problem");
    input.focus();
  }
}

function done(text) {
  show("problem", "");
  show("done", text);
}

function values(form) {
  const out = {};
  for (const input of form.querySelectorAll("input[name]")) out[input.name] = input.name === "password" ? input.value : input.value.trim();
  return out;
}

function busy(form, on) {
  for (const b of form.querySelectorAll("button")) b.disabled = on;
  form.setAttribute("aria-busy", String(on));
}

const token = new URLSearchParams(location.search).get("token") || "";

const HANDLERS = {
  "sign-in": async (form) => {
    const answer = await call("POST", "/session", values(form));
    if (!answer.ok) return problem(answer.message, form);
    done(`Signed in as ${answer.data.user.name}.`);
    location.assign(cfg.next || "/");
  },
  "sign-up": async (form) => {
    const answer = await call("POST", "/users", values(form));
    if (!answer.ok) return problem(answer.message, form);
    form.hidden = true;
    done(answer.data.verification_sent
      ? `Almost there: we sent a link to ${answer.data.user.email}. Open it to confirm your address, then sign in.`
      : "Your account is made, but the confirmation email could not be sent. Ask the administrator, or use “Forgot your password?” later to get a new link.");
  },
  "reset-request": async (form) => {
    const answer = await call("POST", "/password-reset", values(form));
    if (!answer.ok) return problem(answer.message, form);
    form.hidden = true;
    done("If an account has this email, a link to choose a new password is on its way. It works once, for a short while.");
  },
  "reset-confirm": async (form) => {
    const answer = await call("POST", "/password-reset/confirm", {token, password: values(form).password});
    if (!answer.ok) return problem(answer.message, form);
    form.hidden = true;
    done("Your password is changed, and every other session is signed out. Sign in with the new password.");
  },
  "sign-out": async (form) => {
    const session = await call("GET", "/session");
    if (session.ok) {
      const answer = await call("DELETE", "/session", undefined, {"X-CSRF-Token": session.data.csrf_token});
      if (!answer.ok) return problem(answer.message, form);
    }
    location.assign(cfg.sign_in);
  },
};

async function verify() {
  const state = $("verify-state");
  if (!token) return;
  const answer = await call("POST", "/users/verify", {token});
  if (!answer.ok) {
    state.textContent = "";
    return problem(`${answer.message} You can ask for a new link with “Forgot your password?” on the sign-in page.`);
  }
  state.textContent = "";
  done(`Thank you: ${answer.data.user.email} is confirmed. You can sign in now.`);
  $("next-link").focus();
}

for (const form of document.querySelectorAll("form[data-form]")) {
  const handler = HANDLERS[form.dataset.form];
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    busy(form, true);
    try { await handler(form); } finally { busy(form, false); }
  });
}
if (cfg.page === "verify_email") verify();
document.body.dataset.ready = "true";
