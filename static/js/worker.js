/* nnviz runtime worker: Pyodide + numpy + our own nnviz package, off the main thread.
 *
 * Started by static/js/nnviz.js as a classic worker at <site>/static/js/worker.js; the site root
 * is therefore "../../" from this file, and everything is fetched from the site itself:
 *   runtime/manifest.json  plain name -> content-hashed name and size of each runtime file
 *   runtime/pyodide/*      Pyodide 0.27.7 core + numpy wheel  (src/nnviz/runtime.py)
 *   runtime/nnviz.*.zip    nnviz/forward.py (+ demo adapters) unpacked into site-packages
 *   data/models/<name>.npz                                    fetched once (preloaded if asked)
 * Pyodide asks for plain names (indexURL + "pyodide.asm.wasm"); fetch and importScripts are
 * wrapped here to ask for the hashed names instead, which the service worker (sw.js) may cache.
 *
 * Protocol (datasette-lite's shape):
 *   worker -> page  {type: "progress", stage, fraction}      while loading; fraction in [0, 1] grows
 *                   {type: "marks", marks: [[name, ms]]}   start-up performance marks (before
 *                                                           "ready" and after the first answer)
 *                   {type: "ready", versions}                once; calls are answered from then on;
 *                                                           versions.start = "files" | "snapshot",
 *                                                           versions.bytecode = "compiled" | "kept"
 *                   {type: "failed", error}                  once, if loading failed
 *   page -> worker  {type: "preload", models: [names]}      fetch these models while Python boots
 *                   {id, fn, args}
 *   worker -> page  {id, result} | {id, error}               error: one readable line
 *
 * Functions (fn):
 *   "predict"  args [modelName, pixels]: pixels = 784 floats in [0, 1] (or n_0 for the model),
 *              or a list of such images -> {probs, activations}: activations[l] = a_{l+1} (each
 *              layer's output, float64), probs = the last one; a batch gives one row per image.
 *   "info"     args []  -> {pyodide, python, numpy, models: [names of the models loaded so far]}
 *   "<demo>.<func>"  calls nnviz.demos.<demo>.<func>(*args) (demos/<demo>/adapter.py); an argument
 *              {"$model": name} is replaced by that loaded forward.Model. The result must be plain
 *              data (numbers, strings, lists, dicts; numpy arrays are turned into lists).
 *
 * Python computes, JS only carries the numbers: no forward pass here.
 */
"use strict";

const ROOT = new URL("../../", self.location.href).href;
const RUNTIME_URL = ROOT + "runtime/";
const PYODIDE_URL = RUNTIME_URL + "pyodide/";
const MODEL_NAME = /^[a-z0-9][a-z0-9-]*$/;   // C6, as nnviz.specs.NAME_RE

let pyodide = null;
let py = null;             // the Python dispatcher (see PY_SETUP)
const models = new Map();  // name -> Promise that resolves once the model is loaded in Python
const modelBytes = new Map();  // name -> Promise of the .npz bytes (preloaded or first use)
let failFast = () => {};   // set by init: rejects it at once (a wasm that cannot compile)
let startedFrom = "files";  // or "snapshot": how this worker's Python started (info().start)
let bytecode = "compiled";  // or "kept": numpy's bytecode came from the pycache (info().bytecode)
let afterFirstAnswer = () => {};

// Start-up timing: performance marks "nnviz:<step>" here, sent as absolute times (timeOrigin +
// startTime) so that the page puts them on its own timeline (benchmarks/startup.py reads them).
const mark = (step) => performance.mark("nnviz:" + step);
let marksSent = 0;
function sendMarks() {
  const all = performance.getEntriesByType("mark").filter((m) => m.name.startsWith("nnviz:"));
  const marks = all.slice(marksSent).map((m) => [m.name, performance.timeOrigin + m.startTime]);
  marksSent = all.length;
  if (marks.length) self.postMessage({type: "marks", marks});
}
mark("worker");

// Progress: the bar follows the bytes of the runtime files (sizes from the manifest, so it is the
// same with or without Content-Encoding) up to 0.85; Python's own start-up steps fill the rest.
const DOWNLOAD_SHARE = 0.85;
let totalBytes = 0, loadedBytes = 0, reported = -1, stageName = "start";

function progress(name, fraction) {
  stageName = name;
  report(fraction, true);
}

function report(fraction, force) {
  fraction = Math.max(fraction, reported);
  if (!force && fraction - reported < 0.01) return;
  reported = fraction;
  self.postMessage({type: "progress", stage: stageName, fraction});
}

let hashed = {};           // absolute plain URL -> absolute hashed URL (from the manifest)
const realFetch = self.fetch.bind(self);
const realImportScripts = self.importScripts.bind(self);
const resolve = (url) => hashed[String(url)] || String(url);

const early = new Map();   // hashed URL -> Promise of its Response, fetched before Pyodide asks

function countingFetch(input, init) {
  const url = typeof input === "string" || input instanceof URL ? resolve(input) : input;
  if (early.has(url)) {
    const response = early.get(url);
    early.delete(url);
    return response;
  }
  const counted = typeof url === "string" && Object.values(hashed).includes(url);
  // The wasm goes to instantiateStreaming as it came: a Response rebuilt here has no URL, and
  // Chromium then neither reads nor writes its compiled-code cache. Counted once compiled.
  if (counted && url.endsWith(".wasm")) return realFetch(url, init);
  return realFetch(url, init).then((response) => {
    if (!counted || !response.ok || !response.body) return response;
    const reader = response.body.getReader();
    const body = new ReadableStream({
      async pull(controller) {
        const {done, value} = await reader.read();
        if (done) return controller.close();
        loadedBytes += value.byteLength;
        report(DOWNLOAD_SHARE * Math.min(1, loadedBytes / totalBytes));
        controller.enqueue(value);
      },
      cancel: (reason) => reader.cancel(reason),
    });
    return new Response(body, {status: response.status, statusText: response.statusText,
                               headers: response.headers});
  });
}

let wasmBytes = 0;

async function readManifest() {
  const response = await realFetch(RUNTIME_URL + "manifest.json", {cache: "no-cache"});
  if (!response.ok) throw new Error(`runtime/manifest.json: HTTP ${response.status}`);
  const manifest = await response.json();
  wasmBytes = manifest.bytes["pyodide/pyodide.asm.wasm"] || 0;
  for (const [plain, name] of Object.entries(manifest.files)) {
    hashed[RUNTIME_URL + plain] = RUNTIME_URL + name;
    totalBytes += manifest.bytes[plain] || 0;
  }
  return manifest;
}

// Pyodide logs a failed WebAssembly compile and then waits forever; fail the load at once instead.
for (const name of ["instantiate", "instantiateStreaming", "compile", "compileStreaming"]) {
  const real = WebAssembly[name];
  WebAssembly[name] = function (...args) {
    mark(name);
    return real.apply(WebAssembly, args).then((result) => {
      if (name === "instantiateStreaming") {
        mark("wasm");
        loadedBytes += wasmBytes;
        report(DOWNLOAD_SHARE * Math.min(1, loadedBytes / totalBytes));
      }
      return result;
    }, (e) => {
      failFast(new Error(`runtime/pyodide/pyodide.asm.wasm could not be compiled (${e.message}): ` +
                         "the file is damaged; rebuild the site"));
      throw e;
    });
  };
}

const PY_SETUP = `
import sys
sys.dont_write_bytecode = False   # the bytecode compiled now is kept for the next visit (pycache)
import importlib, os, traceback
import numpy as np
from nnviz import forward

_models = {}

def _plain(value):
    if isinstance(value, np.ndarray):
        return value.astype(np.float64).tolist() if value.dtype.kind == "f" else value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value

def _args(args):
    out = []
    for a in args:
        if isinstance(a, dict) and set(a) == {"$model"}:
            a = _models[a["$model"]]
        out.append(a)
    return out

def add_model(name, data):
    """Load model bytes into the cache; returns None, or the error as one readable line."""
    try:
        _models[name] = forward.load(data.to_bytes(), name=f"data/models/{name}.npz")
    except forward.ModelError as e:
        return f"ModelError: {e}"

def predict(name, pixels):
    # pixels: one image (a Float64Array arrives as a memoryview: no per-number conversion) or a list of them
    if isinstance(pixels, list) and pixels and not isinstance(pixels[0], (int, float)):
        x = np.array([np.asarray(p, dtype=np.float64) for p in pixels])
    else:
        x = np.asarray(pixels, dtype=np.float64)
    acts = forward.forward(_models[name], x)
    acts = [a.tolist() for a in acts]
    return {"probs": acts[-1], "activations": acts}

def info():
    import sys, pyodide
    return {"pyodide": pyodide.__version__, "python": sys.version.split()[0],
            "numpy": np.__version__, "models": sorted(_models)}

def pycache():
    """Every .pyc written so far, as a zip of absolute paths, marked unchecked (PEP 552 flags = 1)
    so that the next visit uses them although the wheel's files are unpacked with new times."""
    import io, zipfile
    paths = {os.path.join(folder, name)
             for top in (os.path.dirname(np.__path__[0]), os.path.dirname(forward.__file__))
             for folder, _, names in os.walk(top) if folder.endswith("__pycache__")
             for name in names if name.endswith(".pyc")}
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as z:
        for path in sorted(paths):
            with open(path, "rb") as f:
                data = bytearray(f.read())
            data[4:8] = (1).to_bytes(4, "little")
            z.writestr(path.lstrip("/"), bytes(data))
    return buf.getvalue()

def call(fn, args):
    """Run one request; returns (True, result) or (False, one readable line)."""
    try:
        args = args.to_py() if hasattr(args, "to_py") else list(args)
        if fn == "predict":
            return True, predict(*args)
        if fn == "info":
            return True, info()
        demo, _, func = fn.partition(".")
        if not (demo.isidentifier() and func.isidentifier()):
            return False, f"unknown function {fn!r}: expected 'predict', 'info' or '<demo>.<function>'"
        try:
            module = importlib.import_module(f"nnviz.demos.{demo}")
        except ModuleNotFoundError:
            return False, f"unknown demo {demo!r} in {fn!r}: no demos/{demo}/adapter.py in this site"
        if not callable(getattr(module, func, None)) or func.startswith("_"):
            return False, f"demo {demo!r} has no function {func!r}"
        return True, _plain(getattr(module, func)(*_args(args)))
    except forward.ModelError as e:
        return False, f"ModelError: {e}"
    except Exception as e:
        traceback.print_exc()
        return False, f"{type(e).__name__}: {e}"
`;

async function init() {
  const {version, files} = await readManifest();
  mark("manifest");
  self.fetch = countingFetch;
  self.importScripts = (...urls) => realImportScripts(...urls.map(resolve));
  progress("pyodide", 0.01);
  const zip = fetchBytes(RUNTIME_URL + "nnviz.zip");  // small: fetch it while Python boots
  zip.catch(() => {});
  // numpy is installed after the snapshot point, so fetch its wheel now, while Python boots
  const wheel = Object.keys(files).find((name) => name.endsWith(".whl"));
  const prefetch = countingFetch(RUNTIME_URL + wheel);
  prefetch.catch(() => {});       // a failure is Pyodide's to report, when it asks for the wheel
  early.set(resolve(RUNTIME_URL + wheel), prefetch);
  const [snapshot, pycache] = await Promise.all([readKept("snapshot", version), readKept("pycache", version)]);
  mark("kept read");
  importScripts(PYODIDE_URL + "pyodide.js");
  mark("pyodide.js");
  const made = await boot(snapshot);
  mark("loadPyodide");
  await pyodide.loadPackage("numpy", {messageCallback() {}});
  mark("numpy");
  if (made) started.then(() => keepLater("snapshot", version, made));
  progress("nnviz", 0.9);
  pyodide.unpackArchive(await zip, "zip");
  if (pycache) {
    try {
      pyodide.unpackArchive(pycache, "zip", {extractDir: "/"});
      bytecode = "kept";
    } catch (e) {
      console.warn("nnviz worker: the start-up pycache did not unpack; compiling:", e.message || e);
    }
  }
  // none, or unusable: keep this visit's bytecode (replacing the bad entry)
  if (bytecode !== "kept") afterFirstAnswer = () => keepLater("pycache", version, toJs(py.pycache()));
  mark("unpack");
  const ns = pyodide.globals.get("dict")();
  pyodide.runPython(PY_SETUP, {globals: ns});
  mark("setup");
  py = {call: ns.get("call"), addModel: ns.get("add_model"), info: ns.get("info"), pycache: ns.get("pycache")};
  self.fetch = realFetch;
  self.importScripts = realImportScripts;
  progress("ready", 1);
}

// Second visits start from what the first one kept in Cache Storage, under this build's runtime
// version and with its sha256 (checked before use; a damaged entry is dropped and made again):
//   snapshot  the interpreter's memory right after Pyodide's own start-up, before numpy: pyodide
//             0.27.7 cannot snapshot once a package is loaded (README, "Start-up")
//   pycache   the bytecode of numpy and our modules, compiled on the first visit: the wheel holds
//             .py files only, and compiling them is most of `import numpy`
const KEPT = "nnviz.startup";     // not "nnviz-*": sw.js owns those (one per build)
const keptUrl = (kind, version) => `${RUNTIME_URL}${kind}.${version}.bin`;
const PYODIDE_OPTIONS = {indexURL: PYODIDE_URL, stdout: console.log, stderr: console.warn};

async function sha256(bytes) {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** This build's `kind` from Cache Storage, or null (none, unreadable, or damaged: dropped). */
async function readKept(kind, version) {
  if (!self.caches) return null;    // not a secure context: every visit starts afresh
  try {
    const cache = await caches.open(KEPT);
    const response = await cache.match(keptUrl(kind, version));
    if (!response) return null;
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (await sha256(bytes) === response.headers.get("x-sha256")) return bytes;
    console.warn(`nnviz worker: the start-up ${kind} in Cache Storage is damaged; making a new one`);
    await cache.delete(keptUrl(kind, version));
  } catch (e) {
    console.warn(`nnviz worker: cannot read the start-up ${kind}:`, e.message || e);
  }
  return null;
}

/** Store `bytes` as the only `kind`: a new build never starts from an old build's state. */
async function keep(kind, version, bytes) {
  const cache = await caches.open(KEPT);
  for (const request of await cache.keys()) {
    if (request.url.startsWith(`${RUNTIME_URL}${kind}.`)) await cache.delete(request);
  }
  const headers = {"Content-Type": "application/octet-stream", "x-sha256": await sha256(bytes)};
  await cache.put(keptUrl(kind, version), new Response(bytes, {headers}));
  mark(kind + " kept");
  sendMarks();
}

function keepLater(kind, version, bytes) {
  keep(kind, version, bytes).catch((e) =>
    console.warn(`nnviz worker: the start-up ${kind} was not kept:`, e.message || e));
}

/** Start Pyodide from `snapshot` if it works, else afresh; returns a new snapshot to keep, or null. */
async function boot(snapshot) {
  if (snapshot) {
    try {
      pyodide = await loadPyodide({...PYODIDE_OPTIONS, _loadSnapshot: snapshot});
      startedFrom = "snapshot";
      return null;
    } catch (e) {
      console.warn("nnviz worker: the start-up snapshot did not load; starting afresh:", e.message || e);
    }
  }
  pyodide = await loadPyodide({...PYODIDE_OPTIONS, _makeSnapshot: Boolean(self.caches)});
  return self.caches ? pyodide.makeMemorySnapshot() : null;
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.slice(ROOT.length) || url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** The .npz bytes of a model, fetched once (by a preload or the first call); names are checked
 *  (C6) before they become a URL. */
function fetchModel(name) {
  if (typeof name !== "string" || !MODEL_NAME.test(name)) {
    return Promise.reject(new Error(`invalid model name ${JSON.stringify(name)}: expected ${MODEL_NAME.source}`));
  }
  if (!modelBytes.has(name)) {
    const bytes = realFetch(`${ROOT}data/models/${name}.npz`).then(async (response) => {
      if (!response.ok) throw new Error(`data/models/${name}.npz: HTTP ${response.status}`);
      return new Uint8Array(await response.arrayBuffer());
    });
    bytes.catch(() => modelBytes.delete(name));  // let a later call try again
    modelBytes.set(name, bytes);
  }
  return modelBytes.get(name);
}

/** Load a model into Python once; concurrent first calls share one fetch. */
function ensureModel(name) {
  if (!models.has(name)) {
    const loading = fetchModel(name).then((bytes) => {
      const error = py.addModel(name, bytes);
      if (error) throw new Error(error);
      mark("model " + name);
    }).catch((e) => {
      models.delete(name);
      modelBytes.delete(name);
      throw new Error(`model ${name}: ${e.message}`);
    });
    models.set(name, loading);
  }
  return models.get(name);
}

function modelNames(fn, args) {
  if (fn === "predict") return [args[0]];
  return args.filter((a) => a && typeof a === "object" && "$model" in a).map((a) => a.$model);
}

function toJs(value) {
  if (value && typeof value.toJs === "function") {
    const js = value.toJs({dict_converter: Object.fromEntries, create_pyproxies: false});
    value.destroy();
    return js;
  }
  return value;
}

async function handle({id, fn, args}) {
  try {
    args = Array.isArray(args) ? args : [];
    await Promise.all(modelNames(fn, args).map(ensureModel));
    const out = py.call(fn, args);
    const [ok, value] = toJs(out);
    if (id === 1) mark("first call");
    self.postMessage(ok ? {id, result: value} : {id, error: String(value)});
    if (id === 1) sendMarks();
    if (ok) {
      afterFirstAnswer();   // once: the first call has imported what the page needs
      afterFirstAnswer = () => {};
    }
  } catch (e) {
    self.postMessage({id, error: String(e && e.message || e)});
  }
}

const started = new Promise((resolve, reject) => {
  failFast = reject;
  init().then(resolve, reject);
}).then(
  () => {
    sendMarks();
    self.postMessage({type: "ready", versions: {...toJs(py.info()), start: startedFrom, bytecode}});
  },
  (e) => {
    console.error("nnviz worker: loading failed", e);
    self.postMessage({type: "failed", error: String(e && e.message || e)});
    throw e;
  });
started.catch(() => {});

self.onmessage = (event) => {
  const msg = event.data || {};
  if (msg.type === "preload") {
    for (const name of msg.models || []) fetchModel(name).catch(() => {});  // errors: on first use
    return;
  }
  if (msg.id === undefined) return;
  started.then(() => handle(msg), (e) => self.postMessage({id: msg.id, error: `runtime failed to load: ${e && e.message || e}`}));
};
