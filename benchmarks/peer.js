/* The benchmark's peer: a plain-JavaScript forward pass of the very same weights.
 *
 * BENCHMARK ONLY. The site itself never computes in JS (one forward pass, in Python: src/nnviz/forward.py);
 * benchmarks/run.py copies this file into a temporary copy of the site, next to page.html, to
 * measure what Pyodide costs against the simplest possible alternative.
 *
 * It reads data/models/<name>.npz exactly as the worker does: a zip (stored or deflated) of .npy
 * arrays — spec (JSON string), mean, std, W1.., b1.. — and computes, in float64 like forward.py:
 *   a_0 = (x - mean) / std;  z_l = a_{l-1} W_l + b_l;  a_l = f(z_l) (hidden), softmax(z_L) (last)
 * with f = relu | sigmoid (as 0.5 (1 + tanh(z / 2))) | tanh, the same formulas as forward.py.
 *
 * Runs in two places:
 *   page (classic script):  window.peer = {load(name), predict(name, pixels), worker}
 *                           predict runs on the main thread and returns {probs, activations};
 *                           worker.load(name) / worker.predict(name, pixels) return Promises and
 *                           run the same code in a Web Worker started from this file, so the
 *                           round trip is comparable to nnviz.predict's worker round trip.
 *   worker:                 messages {id, fn: "load"|"predict", args} -> {id, result} | {id, error}
 */
(function (global) {
  "use strict";

  const isWorker = typeof document === "undefined";
  const ROOT = new URL(isWorker ? "../" : (document.querySelector('meta[name="nnviz-root"]') || {content: "../"}).content,
                       isWorker ? self.location.href : document.baseURI).href;

  // ------------------------------------------------------------------ .npz reading

  async function inflateRaw(bytes) {
    const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  }

  /** {name: Uint8Array} of the members of a zip archive, read from its central directory. */
  async function unzip(buf) {
    const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    let eocd = -1;
    for (let i = buf.length - 22; i >= Math.max(0, buf.length - 65557); i--) {
      if (dv.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
    }
    if (eocd < 0) throw new Error("not a zip file (no end of central directory)");
    const count = dv.getUint16(eocd + 10, true);
    let p = dv.getUint32(eocd + 16, true);
    const out = {};
    const utf8 = new TextDecoder();
    for (let k = 0; k < count; k++) {
      if (dv.getUint32(p, true) !== 0x02014b50) throw new Error("bad central directory entry");
      const method = dv.getUint16(p + 10, true);
      const csize = dv.getUint32(p + 20, true);
      const nameLen = dv.getUint16(p + 28, true), extraLen = dv.getUint16(p + 30, true);
      const commentLen = dv.getUint16(p + 32, true);
      const local = dv.getUint32(p + 42, true);
      const name = utf8.decode(buf.subarray(p + 46, p + 46 + nameLen));
      const start = local + 30 + dv.getUint16(local + 26, true) + dv.getUint16(local + 28, true);
      const data = buf.subarray(start, start + csize);
      if (method === 0) out[name] = data;
      else if (method === 8) out[name] = await inflateRaw(data);
      else throw new Error(`${name}: zip method ${method} not supported`);
      p += 46 + nameLen + extraLen + commentLen;
    }
    return out;
  }

  /** One .npy array -> {shape, data}: data a Float64Array for floats, a string for '<U' scalars. */
  function readNpy(bytes, name) {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes[0] !== 0x93 || String.fromCharCode(...bytes.subarray(1, 6)) !== "NUMPY") {
      throw new Error(`${name}: not a .npy array`);
    }
    const major = bytes[6];
    const headerLen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
    const offset = major === 1 ? 10 : 12;
    const header = new TextDecoder("latin1").decode(bytes.subarray(offset, offset + headerLen));
    const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
    if (/'fortran_order':\s*True/.test(header)) throw new Error(`${name}: Fortran order not supported`);
    const shape = /'shape':\s*\(([^)]*)\)/.exec(header)[1].split(",").map((s) => s.trim()).filter(Boolean).map(Number);
    const n = shape.reduce((a, b) => a * b, 1);
    const body = bytes.subarray(offset + headerLen);
    const bdv = new DataView(body.buffer, body.byteOffset, body.byteLength);
    if (descr === "<f4" || descr === "<f8") {
      const size = descr === "<f4" ? 4 : 8;
      const data = new Float64Array(n);
      for (let i = 0; i < n; i++) data[i] = size === 4 ? bdv.getFloat32(i * 4, true) : bdv.getFloat64(i * 8, true);
      return {shape, data};
    }
    if (descr.startsWith("<U")) {  // UTF-32LE, zero padded
      const chars = [];
      for (let i = 0; i + 4 <= body.length; i += 4) {
        const c = bdv.getUint32(i, true);
        if (c) chars.push(c);
      }
      return {shape, data: String.fromCodePoint(...chars)};
    }
    throw new Error(`${name}: dtype ${descr} not supported`);
  }

  const models = new Map();

  async function load(name) {
    if (models.has(name)) return models.get(name).layers;
    const response = await fetch(`${ROOT}data/models/${name}.npz`);
    if (!response.ok) throw new Error(`data/models/${name}.npz: HTTP ${response.status}`);
    const files = await unzip(new Uint8Array(await response.arrayBuffer()));
    const arr = (key) => {
      if (!(key + ".npy" in files)) throw new Error(`${name}.npz has no ${key}`);
      return readNpy(files[key + ".npy"], `${name}.npz/${key}`);
    };
    const spec = JSON.parse(arr("spec").data);
    const layers = spec.layers;
    const model = {name, layers, activation: spec.activation || "relu",
                   mean: arr("mean").data, std: arr("std").data, W: [], b: []};
    for (let l = 1; l < layers.length; l++) {
      const W = arr("W" + l), b = arr("b" + l);
      if (W.shape[0] !== layers[l - 1] || W.shape[1] !== layers[l] || b.shape[0] !== layers[l]) {
        throw new Error(`${name}: W${l}/b${l} shapes ${W.shape}/${b.shape} do not match layers ${layers}`);
      }
      model.W.push(W.data);
      model.b.push(b.data);
    }
    models.set(name, model);
    return layers;
  }

  const ACT = {
    relu: (z) => (z > 0 ? z : 0),
    sigmoid: (z) => 0.5 * (1 + Math.tanh(0.5 * z)),
    tanh: Math.tanh,
  };

  /** pixels: 784 numbers in [0, 1] -> {probs, activations} (plain arrays, one per layer). */
  function predict(name, pixels) {
    const m = models.get(name);
    if (!m) throw new Error(`model ${name} not loaded`);
    const n0 = m.layers[0];
    if (pixels.length !== n0) throw new Error(`input has ${pixels.length} values, expected ${n0}`);
    let a = new Float64Array(n0);
    for (let i = 0; i < n0; i++) a[i] = (pixels[i] - m.mean[i]) / m.std[i];
    const f = ACT[m.activation];
    const activations = [];
    const last = m.W.length - 1;
    for (let l = 0; l <= last; l++) {
      const nIn = m.layers[l], nOut = m.layers[l + 1], W = m.W[l];
      const z = Float64Array.from(m.b[l]);
      for (let i = 0; i < nIn; i++) {
        const ai = a[i];
        if (ai === 0) continue;
        const row = i * nOut;
        for (let j = 0; j < nOut; j++) z[j] += ai * W[row + j];
      }
      if (l === last) {
        let max = -Infinity, sum = 0;
        for (let j = 0; j < nOut; j++) if (z[j] > max) max = z[j];
        for (let j = 0; j < nOut; j++) { z[j] = Math.exp(z[j] - max); sum += z[j]; }
        for (let j = 0; j < nOut; j++) z[j] /= sum;
      } else {
        for (let j = 0; j < nOut; j++) z[j] = f(z[j]);
      }
      activations.push(Array.from(z));
      a = z;
    }
    return {probs: activations[last], activations};
  }

  if (isWorker) {
    self.onmessage = async (event) => {
      const {id, fn, args} = event.data || {};
      try {
        if (fn === "load") self.postMessage({id, result: await load(...args)});
        else if (fn === "predict") self.postMessage({id, result: predict(...args)});
        else throw new Error(`unknown function ${fn}`);
      } catch (e) {
        self.postMessage({id, error: String(e && e.message || e)});
      }
    };
    return;
  }

  // ------------------------------------------------------------------ page side
  let worker = null, nextId = 1;
  const pending = new Map();
  function callWorker(fn, args) {
    if (!worker) {
      worker = new Worker(SRC || new URL("peer.js", document.baseURI).href);
      worker.onmessage = (event) => {
        const {id, result, error} = event.data;
        const call = pending.get(id);
        pending.delete(id);
        if (error !== undefined) call.reject(new Error(error));
        else call.resolve(result);
      };
    }
    return new Promise((resolve, reject) => {
      const id = nextId++;
      pending.set(id, {resolve, reject});
      worker.postMessage({id, fn, args});
    });
  }
  const SRC = document.currentScript && document.currentScript.src;
  global.peer = {
    load,
    predict,
    worker: {
      load: (name) => callWorker("load", [name]),
      predict: (name, pixels) => callWorker("predict", [name, pixels]),
    },
    src: SRC,
  };
})(typeof self !== "undefined" ? self : this);
