/* nnviz runtime worker: Pyodide + numpy + our own nnviz package, off the main thread.
 *
 * Started by static/js/nnviz.js as a classic worker at <site>/static/js/worker.js; the site root
 * is therefore "../../" from this file, and everything is fetched from the site itself:
 *   runtime/pyodide/*   Pyodide 0.27.7 core + numpy wheel     (scripts/vendor_runtime.py)
 *   runtime/nnviz.zip   nnviz/forward.py (+ demo adapters)    unpacked into site-packages
 *   data/models/<name>.npz                                    fetched on first use, then cached
 *
 * Protocol (datasette-lite's shape):
 *   worker -> page  {type: "progress", stage, fraction}      while loading, fraction in [0, 1]
 *                   {type: "ready", versions}                once; calls are answered from then on
 *                   {type: "failed", error}                  once, if loading failed
 *   page -> worker  {id, fn, args}
 *   worker -> page  {id, result} | {id, error}               error: one readable line
 *
 * Functions (fn):
 *   "predict"  args [modelName, pixels]: pixels = 784 floats in [0, 1] (or n_0 for the model),
 *              or a list of such images -> {probs, activations}: activations[l] = a_{l+1} (each
 *              layer's output, float64), probs = the last one; a batch gives one row per image.
 *   "info"     args []  -> {pyodide, python, numpy, models: [loaded model names]}
 *   "<demo>.<func>"  calls nnviz.demos.<demo>.<func>(*args) (demos/<demo>/adapter.py); an argument
 *              {"$model": name} is replaced by that loaded forward.Model. The result must be plain
 *              data (numbers, strings, lists, dicts; numpy arrays are turned into lists).
 *
 * Python computes, JS only carries the numbers: no forward pass here.
 */
"use strict";

const ROOT = new URL("../../", self.location.href).href;
const PYODIDE_URL = ROOT + "runtime/pyodide/";

let pyodide = null;
let py = null;             // the Python dispatcher (see PY_SETUP)
const models = new Map();  // name -> Promise that resolves once the model is loaded in Python

function progress(stage, fraction) {
  self.postMessage({type: "progress", stage, fraction});
}

const PY_SETUP = `
import importlib, traceback
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
    acts = forward.forward(_models[name], np.asarray(pixels, dtype=np.float64))
    acts = [a.tolist() for a in acts]
    return {"probs": acts[-1], "activations": acts}

def info():
    import sys
    return {"python": sys.version.split()[0], "numpy": np.__version__, "models": sorted(_models)}

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
  progress("pyodide", 0.02);
  importScripts(PYODIDE_URL + "pyodide.js");
  progress("python", 0.1);
  pyodide = await loadPyodide({indexURL: PYODIDE_URL, stdout: console.log, stderr: console.warn});
  progress("numpy", 0.6);
  await pyodide.loadPackage("numpy", {messageCallback: () => {}, errorCallback: console.warn});
  progress("nnviz", 0.85);
  const zip = await fetchBytes(ROOT + "runtime/nnviz.zip");
  pyodide.unpackArchive(zip, "zip");
  const ns = pyodide.globals.get("dict")();
  pyodide.runPython(PY_SETUP, {globals: ns});
  py = {call: ns.get("call"), addModel: ns.get("add_model"), info: ns.get("info")};
  progress("ready", 1);
}

async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url.slice(ROOT.length) || url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/** Load data/models/<name>.npz into Python once; concurrent first calls share one fetch. */
function ensureModel(name) {
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]*$/.test(name)) {
    return Promise.reject(new Error(`invalid model name ${JSON.stringify(name)}`));
  }
  if (!models.has(name)) {
    const loading = fetchBytes(`${ROOT}data/models/${name}.npz`).then((bytes) => {
      const error = py.addModel(name, bytes);
      if (error) throw new Error(error);
    }).catch((e) => {
      models.delete(name);  // let a later call try again
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
    self.postMessage(ok ? {id, result: value} : {id, error: String(value)});
  } catch (e) {
    self.postMessage({id, error: String(e && e.message || e)});
  }
}

const started = init().then(
  () => self.postMessage({type: "ready", versions: {pyodide: pyodide.version, ...toJs(py.info())}}),
  (e) => {
    console.error("nnviz worker: loading failed", e);
    self.postMessage({type: "failed", error: String(e && e.message || e)});
    throw e;
  });
started.catch(() => {});

self.onmessage = (event) => {
  const msg = event.data || {};
  if (msg.id === undefined) return;
  started.then(() => handle(msg), (e) => self.postMessage({id: msg.id, error: `runtime failed to load: ${e && e.message || e}`}));
};
