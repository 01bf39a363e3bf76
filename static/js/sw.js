/* nnviz service worker: second visits without downloads, and offline reloads.
 *
 * The build (src/nnviz/runtime.py) writes this file to the site root as sw.js, with MANIFEST set
 * to runtime/manifest.json of that build; a new build therefore gives a new sw.js, which the
 * browser installs, and its activation deletes every older cache: files of two builds never mix.
 * static/js/nnviz.js registers it once the runtime is ready, then posts {type: "keep", urls}: what
 * the page loaded before the worker controlled it.
 *
 *   hashed files (name.<16 hex>.ext, the runtime): cache first. A copy is checked against the
 *       sha256 in its name once, when this worker stores it, and stored with that hash in a VERIFIED
 *       header: such a copy is answered at once (hashing ~17 MB before every answer cost a second
 *       visit most of a second; at rest Chromium's disk cache checks its own entries). A copy without
 *       the header (put there by anything else) is hashed before use; a damaged one is dropped and
 *       fetched again.
 *   everything else (pages, scripts, models, pictures): network first, the cached copy offline;
 *       a page's request is the navigation preload one, sent while this worker starts.
 */
"use strict";

const MANIFEST = "__NNVIZ_MANIFEST__";   // replaced by the build
const CACHE = "nnviz-" + MANIFEST.version;
const RUNTIME = new URL("runtime/", self.registration.scope).href;
const HASHED = /\.([0-9a-f]{16})\.[a-z0-9]+$/;
const VERIFIED = "X-Nnviz-Sha256";     // set only by store(): the body was checked against this hash

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then(async (cache) => {
    const names = Object.values(MANIFEST.files);
    await Promise.all(names.map(async (name) => {
      const response = await fetch(RUNTIME + name);
      if (!await store(cache, RUNTIME + name, response, HASHED.exec(name)[1])) {
        throw new Error(`nnviz sw: ${name} does not match its hash`);
      }
    }));
    await cache.add(RUNTIME + "manifest.json");
  }).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  // navigation preload: a page's request starts while this worker boots, not after
  const preload = self.registration.navigationPreload ? self.registration.navigationPreload.enable() : null;
  event.waitUntil(Promise.all([preload, caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("nnviz-") && k !== CACHE)
      .map((k) => caches.delete(k))))])
    .then(() => self.clients.claim()));
});

self.addEventListener("message", (event) => {
  const msg = event.data || {};
  if (msg.type !== "keep") return;
  const urls = (msg.urls || []).filter((u) => typeof u === "string" && u.startsWith(self.registration.scope));
  event.waitUntil(caches.open(CACHE).then((cache) => Promise.all(urls.map(async (url) => {
    if (await cache.match(url)) return;
    const hash = HASHED.exec(new URL(url).pathname);      // e.g. the page's stylesheet
    await (hash ? fetch(url).then((r) => store(cache, url, r, hash[1])) : cache.add(url)).catch(() => {});
  }))));
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !request.url.startsWith(self.registration.scope)) return;
  const url = new URL(request.url);
  const hash = HASHED.exec(url.pathname);
  event.respondWith(hash ? cacheFirst(request, hash[1], event) : networkFirst(request, event));
});

async function sha256Prefix(response) {
  const digest = await crypto.subtle.digest("SHA-256", await response.arrayBuffer());
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("").slice(0, 16);
}

/** Put `response` under `url` if its body matches `hash`, marked VERIFIED; -> whether it did. */
async function store(cache, url, response, hash) {
  if (!response.ok) return false;
  const body = await response.arrayBuffer();
  if (await sha256Prefix(new Response(body)) !== hash) return false;
  const headers = new Headers(response.headers);
  for (const h of ["Content-Encoding", "Content-Length"]) headers.delete(h);   // the body is decoded
  headers.set(VERIFIED, hash);
  await cache.put(url, new Response(body, {status: response.status, statusText: response.statusText, headers}));
  return true;
}

async function cacheFirst(request, hash, event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(request);
  if (cached) {
    if (cached.headers.get(VERIFIED) === hash) return cached;     // checked when stored: stream it
    if (await sha256Prefix(cached.clone()) === hash) return cached;
    console.warn(`nnviz sw: cached ${request.url} is damaged; fetching it again`);
    await cache.delete(request);
  }
  const response = await fetch(request);
  event.waitUntil(store(cache, request.url, response.clone(), hash));   // after answering
  return response;
}

/** Store a fresh response after answering, unless the cache already holds that version. */
async function keep(cache, request, response) {
  const cached = await cache.match(request);
  const same = (h) => response.headers.get(h) && cached.headers.get(h) === response.headers.get(h);
  if (!cached || !(same("etag") || same("last-modified"))) await cache.put(request, response);
}

async function networkFirst(request, event) {
  const cache = await caches.open(CACHE);
  try {
    const response = (await event.preloadResponse) || await fetch(request);
    if (response.ok && response.type === "basic") event.waitUntil(keep(cache, request, response.clone()));
    return response;
  } catch (e) {
    const cached = await cache.match(request, {ignoreSearch: request.mode === "navigate"});
    if (cached) return cached;
    throw e;
  }
}
