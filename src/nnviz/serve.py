"""`nnviz serve`: the built site on 127.0.0.1, rebuilt whenever a source changes.

Each rebuild is `nnviz build` in a fresh process, so the code that runs is the code on disk (an
imported module never goes stale). Open pages load /__nnviz/reload.js, which long-polls
/__nnviz/status: a successful rebuild reloads the page, a failed one shows its error on the page
(the old site keeps being served). Precompressed `F.br` / `F.gz` are sent by Accept-Encoding, and
files with a content hash in their name are cached for good (contract C5).
"""
import collections
import http.server
import io
import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

WATCH = ("chapters", "templates", "demos", "static", "scripts", "src/nnviz")
LIVE = "/__nnviz/"
RELOAD_JS = Path(__file__).with_name("reload.js")
RELOAD_TAG = b'<script src="/__nnviz/reload.js" defer></script>'
HASHED = re.compile(r"\.[0-9a-f]{8,}\.[A-Za-z0-9]+$")     # name.<hash>.ext
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))             # preferred first
POLL_SECONDS = 20                                        # a status request waits at most this long


class State:
    """The outcome of the latest build, `version` counting builds; readers can wait for the next."""

    def __init__(self):
        self.version, self.error = 0, None
        self.changed = threading.Condition()

    def publish(self, error):
        with self.changed:
            self.version += 1
            self.error = error
            self.changed.notify_all()

    def wait(self, since, timeout=POLL_SECONDS):
        with self.changed:
            self.changed.wait_for(lambda: self.version != since, timeout)
            return {"version": self.version, "error": self.error}


def rebuild(out, root):
    """Run `nnviz build` in a fresh process; None when it succeeded, else its error text.
    The child's progress passes through to the terminal as it happens."""
    cmd = [sys.executable, "-m", "nnviz.cli", "build", "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=root, stderr=subprocess.PIPE, text=True, errors="replace")
    tail = collections.deque(maxlen=200)
    for line in proc.stderr:
        sys.stderr.write(line)
        tail.append(line)
    if proc.wait() == 0:
        return None
    lines = list(tail)
    start = max([i for i, l in enumerate(lines) if l.startswith(("error: ", "Traceback"))] or [0])
    return "".join(lines[start:]).strip() or f"the build exited with status {proc.returncode}"


def watch(out, root, state, stop):
    """Rebuild after every batch of source changes (watchfiles waits for a quiet moment)."""
    import watchfiles
    paths = [root / d for d in WATCH if (root / d).is_dir()]
    for changes in watchfiles.watch(*paths, stop_event=stop):
        names = sorted({Path(p).name for _, p in changes})
        print(f"changed: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}; rebuilding", file=sys.stderr)
        error = rebuild(out, root)
        print("rebuild failed; still serving the previous site" if error else "rebuilt; reloading open pages",
              file=sys.stderr)
        state.publish(error)


def accepted(header):
    """Content codings an Accept-Encoding header allows (q=0 refuses, '*' allows all)."""
    names = set()
    for part in (header or "").split(","):
        name, _, params = part.partition(";")
        q = re.search(r"q\s*=\s*(0(\.0*)?)\s*$", params)     # q=0, q=0.0, q=0.000
        if name.strip() and not q:
            names.add(name.strip().lower())
    return names | ({c for c, _ in ENCODINGS} if "*" in names else set())


class Handler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".wasm": "application/wasm", ".mjs": "text/javascript", ".js": "text/javascript"}
    timeout = 30          # seconds a silent connection may hold a thread
    state = State()       # replaced per server by serve()

    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path.startswith(LIVE):
            return self.live()
        super().do_GET()

    def send_head(self):
        """Headers for a file (or a folder's index.html; never a listing): its precompressed twin
        when the client accepts it, the live-reload tag in HTML, Cache-Control by name."""
        url = urlsplit(self.path).path
        fs = Path(self.translate_path(self.path))
        if fs.is_dir():
            if not url.endswith("/"):
                return super().send_head()          # redirects to the slash form
            fs = fs / "index.html"
        if not fs.is_file():
            self.send_error(404, "File not found")
            return None
        ctype = self.guess_type(str(fs))
        ok = accepted(self.headers.get("Accept-Encoding"))
        coding, body = next(((c, fs.with_name(fs.name + ext)) for c, ext in ENCODINGS
                             if c in ok and ctype != "text/html" and fs.with_name(fs.name + ext).is_file()),
                            (None, fs))
        if ctype == "text/html":
            f = io.BytesIO(inject(fs.read_bytes()))
            size = len(f.getvalue())
        else:
            f = open(body, "rb")
            size = body.stat().st_size
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(size))
        if coding:
            self.send_header("Content-Encoding", coding)
        self.send_header("Vary", "Accept-Encoding")
        self.send_header("Cache-Control", "public, max-age=31536000, immutable" if HASHED.search(fs.name) else "no-cache")
        self.end_headers()
        return f

    def live(self):
        """/__nnviz/reload.js, or /__nnviz/status?since=N: the build state once it differs from N."""
        url = urlsplit(self.path)
        if url.path == LIVE + "reload.js":
            body, ctype = RELOAD_JS.read_bytes(), "text/javascript"
        elif url.path == LIVE + "status":
            since = parse_qs(url.query).get("since", ["-1"])[0]
            body = json.dumps(self.state.wait(int(since) if since.lstrip("-").isdigit() else -1)).encode()
            ctype = "application/json"
        else:
            return self.send_error(404, "File not found")
        try:
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)
        except ConnectionError:
            pass            # a page that navigated away mid-poll: expected, not worth a line


def inject(html):
    """The page with the live-reload script before </body> (a same-origin file: CSP allows it)."""
    i = html.rfind(b"</body>")
    return html[:i] + RELOAD_TAG + html[i:] if i >= 0 else html + RELOAD_TAG


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """One quiet line for a client that went away; a real bug still gets its traceback."""
        e = sys.exc_info()[1]
        if isinstance(e, (ConnectionError, TimeoutError)):
            print(f"client {client_address[0]}:{client_address[1]} went away ({type(e).__name__})", file=sys.stderr)
        else:
            super().handle_error(request, client_address)


def serve(out, root, port):
    """Build, then serve `out` on 127.0.0.1:`port` and rebuild on change until Ctrl-C."""
    state = State()
    error = rebuild(out, root)
    if error and not (out / "index.html").is_file():
        print("error: the first build failed and there is no previous site to serve", file=sys.stderr)
        return 1
    state.publish(error)
    handler = type("SiteHandler", (Handler,), {"state": state})
    stop = threading.Event()
    threading.Thread(target=watch, args=(out, root, state, stop), daemon=True).start()
    with Server(("127.0.0.1", port), lambda *a: handler(*a, directory=str(out))) as httpd:
        print(f"serving {out} on http://127.0.0.1:{port}/ (Ctrl-C to stop)", flush=True)
        try:
            httpd.serve_forever()
        finally:
            stop.set()
    return 0
