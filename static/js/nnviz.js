/* nnviz page API: window.nnviz talks to the runtime worker (static/js/worker.js).
 *
 * Include once per page, in <head> before the stylesheets and any demo script, as a classic script
 * that is not deferred, so that a link carrying demo state starts the runtime while the page is
 * still being parsed (a module or a deferred script works too, only later):
 *   <meta name="nnviz-root" content="../">       site root relative to this page (default "./")
 *   <script src="../static/js/nnviz.js"></script>
 *
 *   nnviz.ready                    Promise: resolves with {pyodide, python, numpy} versions once the
 *                                  runtime is loaded; rejects if it fails.
 *   nnviz.predict(model, pixels)   Promise of {probs, activations}; pixels = 784 floats in [0, 1]
 *                                  (row-major 28x28), or a list of images for a batch.
 *   nnviz.call(fn, args)           any worker function (see worker.js), e.g. a demo adapter:
 *                                  call("templates.dot", [nnviz.model("mnist-softmax"), pixels])
 *                                  runs nnviz.demos.templates.dot(model, pixels) in Python.
 *                                  Pass pixels as a Float64Array: it reaches numpy as one buffer.
 *   nnviz.model(name)              argument marker: the worker loads data/models/<name>.npz once
 *                                  and passes the forward.Model in its place.
 *   nnviz.onProgress(cb)           cb({stage, fraction}) while loading; returns an unsubscribe function.
 *   nnviz.start()                  start loading now. Otherwise a page with a [data-live-demo] starts
 *                                  once parsed and idle, at once (before parsing ends) when the URL's
 *                                  #hash carries demo state ("#<id>=..."), and under navigator.connection.saveData
 *                                  only when a demo comes within ~600px of the viewport; any page
 *                                  starts on its first predict/call.
 *   Over file:// nothing starts: the demos show their static pictures and one note says why.
 *
 * Page hooks (for templates and CSS):
 *   <html data-runtime="idle|loading|ready|failed">
 *   [data-live-demo]            gets class runtime-loading / runtime-ready / runtime-failed;
 *                               on failure CSS shows the static fallback <img> it contains.
 *   [data-runtime-progress]     <progress> gets value (fraction x max); other elements get
 *                               aria-valuenow (0-100) and the CSS variable --runtime-progress (0-1).
 *   [data-runtime-status]       gets a short status text: its own data-text-loading / -ready /
 *                               -failed, else <body>'s (templates/base.html fills those from the
 *                               site-wide strings t.runtime_*); "{percent}" is replaced.
 *   <body data-text-file>       over file://, the one note nnviz.js puts at the top of <main>.
 *   [data-live-demo][data-model=name]  when that model cannot be loaded (a damaged .npz), the demo
 *                               gets runtime-failed (its static picture shows) and a
 *                               <p class="runtime-error" role="alert"> with the worker's message.
 *   document events             nnviz:progress, nnviz:ready, nnviz:failed (detail = the message),
 *                               nnviz:model-failed (detail = {model, error}).
 *   <meta name="nnviz-runtime-timeout" content="90000">  ms without progress before giving up.
 */
(function () {
  "use strict";
  if (window.nnviz) return;

  const html = document.documentElement;
  const metaContent = (name) => {
    const el = document.querySelector(`meta[name="${name}"]`);
    return el ? el.getAttribute("content") : null;
  };
  const ROOT = new URL(metaContent("nnviz-root") || "./", document.baseURI).href;
  const STALL_MS = Number(metaContent("nnviz-runtime-timeout")) || 90000;
  const FILE = location.protocol === "file:";   // modules and workers are blocked there

  const text = (el, key) => el.getAttribute("data-text-" + key) ??
    (document.body && document.body.getAttribute("data-text-" + key)) ?? "";

  let worker = null;
  let state = "idle";
  let failure = null;
  let lastProgress = null;
  let stallTimer = null;
  let nextId = 1;
  const pending = new Map();      // id -> {resolve, reject}
  const listeners = new Set();
  let resolveReady, rejectReady;
  const ready = new Promise((resolve, reject) => { resolveReady = resolve; rejectReady = reject; });
  ready.catch(() => {});          // a failed runtime is shown on the page, not as an uncaught error

  function demos() { return document.querySelectorAll("[data-live-demo]"); }

  function setState(next) {
    state = next;
    html.dataset.runtime = next;
    for (const el of demos()) {
      el.classList.remove("runtime-loading", "runtime-ready", "runtime-failed");
      if (next !== "idle") el.classList.add("runtime-" + next);
    }
    showStatus();
  }

  function showStatus() {
    const fraction = state === "ready" ? 1 : lastProgress ? lastProgress.fraction : 0;
    for (const el of document.querySelectorAll("[data-runtime-progress]")) {
      if (el instanceof HTMLProgressElement) el.value = fraction * el.max;
      else {
        el.setAttribute("aria-valuenow", String(Math.round(fraction * 100)));
        el.style.setProperty("--runtime-progress", String(fraction));
      }
    }
    if (state === "idle") return;
    for (const el of document.querySelectorAll("[data-runtime-status]")) {
      el.textContent = text(el, state).replace("{percent}", Math.round(fraction * 100) + "%");
    }
  }

  function armStallTimer() {
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => fail(new Error(`no progress for ${STALL_MS / 1000} s`)), STALL_MS);
  }

  function fail(error) {
    if (state === "failed" || state === "ready") return;
    clearTimeout(stallTimer);
    failure = new Error("nnviz runtime failed to load: " + (error && error.message || error));
    if (worker) worker.terminate();
    setState("failed");
    for (const {reject} of pending.values()) reject(failure);
    pending.clear();
    rejectReady(failure);
    console.warn(failure.message);
    document.dispatchEvent(new CustomEvent("nnviz:failed", {detail: {error: failure.message}}));
  }

  function onMessage(event) {
    const msg = event.data || {};
    if (msg.id !== undefined) {
      const call = pending.get(msg.id);
      if (!call) return;
      pending.delete(msg.id);
      if ("error" in msg) call.reject(new Error(msg.error));
      else call.resolve(msg.result);
    } else if (msg.type === "progress") {
      lastProgress = {stage: msg.stage, fraction: msg.fraction};
      armStallTimer();
      showStatus();
      for (const cb of listeners) cb(lastProgress);
      document.dispatchEvent(new CustomEvent("nnviz:progress", {detail: lastProgress}));
    } else if (msg.type === "marks") {    // the worker's start-up steps, on our timeline
      for (const [name, at] of msg.marks) performance.mark(name, {startTime: at - performance.timeOrigin});
    } else if (msg.type === "ready") {
      clearTimeout(stallTimer);
      setState("ready");
      resolveReady(msg.versions);
      keepForNextVisit();
      document.dispatchEvent(new CustomEvent("nnviz:ready", {detail: msg.versions}));
    } else if (msg.type === "failed") {
      fail(new Error(msg.error));
    }
  }

  function start() {
    if (worker || state !== "idle" || FILE) return ready;
    setState("loading");
    performance.mark("nnviz:start");
    armStallTimer();
    try {
      worker = new Worker(ROOT + "static/js/worker.js");
    } catch (e) {
      fail(e);
      return ready;
    }
    worker.onmessage = onMessage;
    worker.onerror = (event) => {
      if (state === "loading") fail(new Error(event.message || "worker script could not run"));
    };
    preload();
    return ready;
  }

  /** Ask the worker to fetch the page's models while Python boots (again once the page is parsed:
   *  an early start sees no demos yet). */
  function preload() {
    const models = pageModels();
    if (worker && models.length) worker.postMessage({type: "preload", models});
  }

  function pageModels() {
    return [...new Set([...demos()].map((el) => el.dataset.model).filter(Boolean))];
  }

  /** One image -> Float64Array; a batch (array of images) -> array of Float64Array. Typed arrays
   *  reach numpy as one buffer, ~40x faster than a list of 784 numbers. */
  function pixelArray(pixels) {
    const isImage = (p) => ArrayBuffer.isView(p) || (Array.isArray(p) && typeof p[0] !== "object");
    if (isImage(pixels)) return Float64Array.from(pixels);
    if (Array.isArray(pixels)) return pixels.map((p) => Float64Array.from(p));
    return pixels;
  }

  function call(fn, args) {
    start();
    if (failure) return Promise.reject(failure);
    const answer = ready.then(() => new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, {resolve, reject});
      worker.postMessage({id, fn, args: args || []});
    }));
    answer.catch(modelFailed);
    return answer;
  }

  /** A model that cannot be loaded: every demo that uses it shows the message and its picture. */
  function modelFailed(error) {
    const match = /^model ([a-z0-9][a-z0-9-]*): /.exec(error && error.message || "");
    if (!match) return;
    for (const el of demos()) {
      if (el.dataset.model !== match[1]) continue;
      el.classList.remove("runtime-ready");
      el.classList.add("runtime-failed");
      el.dataset.error = error.message;
      let note = el.querySelector(":scope > .runtime-error");
      if (!note) {
        note = Object.assign(document.createElement("p"), {className: "runtime-error"});
        note.setAttribute("role", "alert");
        el.append(note);
      }
      note.textContent = error.message;
    }
    document.dispatchEvent(new CustomEvent("nnviz:model-failed",
      {detail: {model: match[1], error: error.message}}));
  }

  /** When to start: see the header. */
  function schedule() {
    const found = demos();
    if (worker) { setState(state); preload(); return; }   // started early: mark the demos now
    if (!found.length) return;
    if (FILE) { fileMode(); return; }
    const id = decodeURIComponentSafe(location.hash.slice(1).split("=")[0]);
    if (id && [...found].some((el) => el.id === id)) { start(); return; }
    const saveData = navigator.connection && navigator.connection.saveData;
    if (!saveData) {
      const idle = window.requestIdleCallback || ((cb) => setTimeout(cb, 1));
      idle(() => start(), {timeout: 1500});
    }
    if (!("IntersectionObserver" in window)) { start(); return; }
    const observer = new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) { observer.disconnect(); start(); }
    }, {rootMargin: "600px 0px"});
    for (const el of found) observer.observe(el);
  }

  function decodeURIComponentSafe(s) {
    try { return decodeURIComponent(s); } catch (e) { return s; }
  }

  /** Over file:// the static pictures show, and one note (in the page's language) says why. */
  function fileMode() {
    failure = new Error("nnviz runtime failed to load: pages opened from file:// cannot run it");
    setState("failed");
    rejectReady(failure);
    const main = document.querySelector("main") || document.body;
    const note = Object.assign(document.createElement("p"), {className: "runtime-file-note"});
    note.setAttribute("role", "note");
    note.textContent = text(document.body, "file");
    main.prepend(note);
  }

  /** Second visits and offline reloads: sw.js (written by the build at the site root) keeps the
   *  runtime and what this page loaded. Registered once the runtime is up, so it never competes
   *  with the first load. */
  function keepForNextVisit() {
    if (!("serviceWorker" in navigator) || !/^https?:$/.test(location.protocol)) return;
    navigator.serviceWorker.register(ROOT + "sw.js").then(() => navigator.serviceWorker.ready)
      .then((registration) => {
        const own = (u) => u.startsWith(ROOT) && !u.includes("#");
        const urls = [location.href.split("#")[0],
                      ...performance.getEntriesByType("resource").map((e) => e.name),
                      ROOT + "static/js/worker.js",
                      ...pageModels().map((m) => `${ROOT}data/models/${m}.npz`)].filter(own);
        registration.active.postMessage({type: "keep", urls});
      }).catch((e) => console.warn("nnviz: no offline copy:", e.message || e));
  }

  window.nnviz = {
    ready,
    root: ROOT,
    get state() { return state; },
    start,
    call,
    predict: (modelName, pixels) => call("predict", [modelName, pixelArray(pixels)]),
    model: (name) => ({$model: name}),
    onProgress(cb) {
      listeners.add(cb);
      if (lastProgress) cb(lastProgress);
      return () => listeners.delete(cb);
    },
  };

  html.dataset.runtime = "idle";
  if (document.readyState === "loading") {
    // a shared demo state ("#id=…", or "#section&id=…" as the labs write it): no time to lose
    if (/^#([a-z0-9-]+&)*[a-z0-9-]+=/.test(location.hash)) start();
    document.addEventListener("DOMContentLoaded", schedule);
  } else schedule();
})();
