// Gridlight's service worker: the dashboard's shell (page, scripts, styles, icons, Plotly) is
// served from its cache, refreshed in the background; the API and the streams never are.
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
