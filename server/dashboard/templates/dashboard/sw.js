// Gridlight's service worker: the dashboard's shell (page, scripts, styles, icons, Plotly) is
// served from its cache, refreshed in the background; the API and the streams never are. It
// also shows the households' alerts pushed to this browser (Web Push) as notifications.
"use strict";
const CACHE = {{ cache_name | tojson }};
const SHELL = {{ shell | tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith("gridlight-shell-") && n !== CACHE)
        .map((n) => caches.delete(n))))
      .then(() => self.clients.claim()));
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== self.location.origin) return;
  if (!SHELL.includes(url.pathname)) return;  // the API, streams, reports: always the network
  event.respondWith(
    caches.open(CACHE).then(async (cache) => {
      const cached = await cache.match(url.pathname);
      const fresh = fetch(event.request).then((response) => {
        if (response.ok && !response.redirected) cache.put(url.pathname, response.clone());
        return response;
      });
      if (cached) {
        event.waitUntil(fresh.catch(() => undefined));  // stale-while-revalidate
        return cached;
      }
      return fresh;
    }));
});

// An alert pushed by the server (server/alerts/channels/push.py): {title, body, household, level, kind, alert}.
self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch (err) { data = {body: event.data ? event.data.text() : ""}; }
  const household = data.household || "";
  event.waitUntil(self.registration.showNotification(data.title || "Gridlight alert", {
    body: data.body || "",
    tag: `gridlight-${household}-${data.alert ? data.alert.rule : "alert"}`,
    renotify: true,
    icon: "/dashboard/static/icon-192.png",
    data: {url: household ? `/?household=${encodeURIComponent(household)}#alerts` : "/"},
  }));
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = (event.notification.data && event.notification.data.url) || "/";
  event.waitUntil(self.clients.matchAll({type: "window", includeUncontrolled: true}).then((windows) => {
    for (const w of windows) {
      if (new URL(w.url).origin === self.location.origin && "focus" in w) { w.navigate(url); return w.focus(); }
    }
    return self.clients.openWindow(url);
  }));
});
