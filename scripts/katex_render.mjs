// Render a batch of TeX expressions with KaTeX, for nnviz's build (src/nnviz/render.py).
//
// Usage:  node scripts/katex_render.mjs <path/to/node_modules/katex>  < request.json  > reply.json
//
// request: {"items": [{"tex": "a^2", "display": false}, ...], "strict": true}
// reply:   {"version": "0.16.x", "results": [{"html": "..."} | {"error": "...", "html": "..."}, ...]}
//
// One process renders every expression of a build (start-up is the expensive part).
// With "strict": false a failed expression still gets KaTeX's red error rendering in "html".
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

const dir = process.argv[2];
if (!dir) {
  process.stderr.write("usage: node katex_render.mjs <katex package dir>\n");
  process.exit(2);
}
const katex = (await import(pathToFileURL(join(resolve(dir), "dist", "katex.mjs")).href)).default;
const request = JSON.parse(readFileSync(0, "utf8"));

const base = {
  output: "htmlAndMathml", // MathML for screen readers, HTML for looks
  throwOnError: true,
  strict: "ignore", // CJK text inside \text{} is fine for us
  trust: false,
};

const results = request.items.map(({ tex, display }) => {
  const options = { ...base, displayMode: Boolean(display) };
  try {
    return { html: katex.renderToString(tex, options) };
  } catch (err) {
    const error = String((err && err.message) || err);
    if (request.strict) return { error };
    return { error, html: katex.renderToString(tex, { ...options, throwOnError: false }) };
  }
});

process.stdout.write(JSON.stringify({ version: katex.version, results }));
