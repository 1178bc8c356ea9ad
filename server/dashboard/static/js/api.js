// The JSON API, as the signed-in user (the session cookie, and its CSRF token on writes) or with
// the household's key (pasted once, kept in localStorage, sent as Authorization: Bearer), and
// the short messages a section shows when a route refuses.

const KEY_PREFIX = "gridlight.key.";
const WRITES = new Set(["POST", "PUT", "PATCH", "DELETE"]);
//: The signed-in session: {user, csrf} (null when nobody is signed in).
let session = null;

export function setSession(value) { session = value; }
export function getSession() { return session; }

export function getKey(household) {
  try { return localStorage.getItem(KEY_PREFIX + household) || null; } catch (err) { return null; }
}

export function setKey(household, key) {
  if (key) localStorage.setItem(KEY_PREFIX + household, key);
  else localStorage.removeItem(KEY_PREFIX + household);
}

export function authHeaders(household) {
  const key = household ? getKey(household) : null;
  return key ? {Authorization: `Bearer ${key}`} : {};
}

/** {ok, status, data, message}: never throws; ``message`` explains a refusal in a sentence. */
export async function api(path, {household = null, method = "GET", body = undefined, retry503 = true} = {}) {
  const headers = {Accept: "application/json", ...authHeaders(household)};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (session && WRITES.has(method) && !headers.Authorization) headers["X-CSRF-Token"] = session.csrf;
  let response;
  try {
    response = await fetch(path, {method, headers, cache: "no-store", credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)});
  } catch (err) {
    return {ok: false, status: 0, data: null, message: "The server could not be reached; check the connection."};
  }
  let data = null;
  try { data = await response.json(); } catch (err) { data = null; }
  const retryS = Number(response.headers.get("Retry-After"));
  if (response.status === 503 && retry503 && retryS > 0 && retryS <= 10) {
    await new Promise((resolve) => setTimeout(resolve, retryS * 1000));
    return api(path, {household, method, body, retry503: false});
  }
  return {ok: response.ok, status: response.status, data,
    message: response.ok ? "" : explain(response.status, data, household)};
}

export function explain(status, data, household) {
  const detail = data && data.error && data.error.message ? data.error.message : "";
  switch (status) {
    case 401: return session
      ? `Your session has ended${detail ? ` (${detail})` : ""}: sign in again.`
      : `This needs ${household || "the household"}'s API key: open “API key” at the top and paste it, or sign in.`;
    case 403: return `Not allowed${detail ? `: ${detail}` : "."}`;
    case 404: return `Not available here${detail ? `: ${detail}` : "."}`;
    case 400: return detail ? `Please check: ${detail}` : "The server could not read this request.";
    case 409: return `Not yet${detail ? `: ${detail}` : ": there is not enough history."}`;
    case 422: return `Refused${detail ? `: ${detail}` : "."}`;
    case 429: return "Too many requests; try again in a moment.";
    case 503: return `The server is busy${detail ? `: ${detail}` : ""}; try again shortly.`;
    default: return `Something went wrong (HTTP ${status})${detail ? `: ${detail}` : "."}`;
  }
}

/** Download a file that may need the key (a link cannot send Authorization). */
export async function download(url, filename, household) {
  const response = await fetch(url, {headers: authHeaders(household)});
  if (!response.ok) {
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    throw new Error(explain(response.status, data, household));
  }
  const blob = await response.blob();
  const href = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = href;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 10000);
}
