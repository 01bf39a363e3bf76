"""`nnviz serve`: the built site on 127.0.0.1, rebuilt whenever a source changes.

Each rebuild is `nnviz build` in a fresh process, so the code that runs is the code on disk (an
imported module never goes stale). Open pages load /__nnviz/reload.js, which long-polls
/__nnviz/status: a successful rebuild reloads the page, a failed one shows its error on the page
(the old site keeps being served). Precompressed `F.br` / `F.gz` are sent by Accept-Encoding, and
files with a content hash in their name are cached for good (contract C5). Ctrl-C or SIGTERM
ends it at once, a rebuild under way included (issue 16: it must never wait for a build).
"""
import collections
import http.server
import io
import json
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from .build import clean_stale

WATCH = ("chapters", "templates", "demos", "static", "scripts", "src/nnviz")
LIVE = "/__nnviz/"
RELOAD_JS = Path(__file__).with_name("reload.js")
RELOAD_TAG = b'<script src="/__nnviz/reload.js" defer></script>'
HASHED = re.compile(r"\.[0-9a-f]{8,}\.[A-Za-z0-9]+$")     # name.<hash>.ext
ENCODINGS = (("br", ".br"), ("gzip", ".gz"))             # preferred first
POLL_SECONDS = 20                                        # a status request waits at most this long
STOP_GRACE = 3                                           # seconds a build gets to end on Ctrl-C before a kill


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


class Builder:
    """Runs `nnviz build` in a fresh process, one at a time; stop() ends the one under way at once
    (serve never waits for a rebuild to finish) and refuses to start another."""

    def __init__(self, out, root):
        self.out, self.root = out, root
        self.proc, self.stopped = None, False
        self.lock = threading.Lock()

    def run(self):
        """None when the build succeeded, else its error text (None too once stopped).
        The child's progress passes through to the terminal as it happens."""
        cmd = [sys.executable, "-m", "nnviz.cli", "build", "--out", str(self.out)]
        with self.lock:
            if self.stopped:
                return None
            # its own process group, so that stop() reaches whatever the build started too
            self.proc = proc = subprocess.Popen(cmd, cwd=self.root, stderr=subprocess.PIPE, text=True,
                                                errors="replace", start_new_session=True)
        tail = collections.deque(maxlen=200)
        for line in proc.stderr:
            if not self.stopped:
                sys.stderr.write(line)
            tail.append(line)
        if proc.wait() == 0 or self.stopped:
            return None
        lines = list(tail)
        start = max([i for i, l in enumerate(lines) if l.startswith(("error: ", "Traceback"))] or [0])
        return "".join(lines[start:]).strip() or f"the build exited with status {proc.returncode}"

    def stop(self):
        """End the build under way: Ctrl-C (the build's own clean-up removes its temp folder), a kill
        after STOP_GRACE seconds, then whatever it left beside `out` is removed."""
        with self.lock:
            self.stopped = True
            proc = self.proc
        if proc is None:
            return
        if proc.poll() is None:
            _signal_group(proc.pid, signal.SIGINT)
            try:
                proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                pass
        _signal_group(proc.pid, signal.SIGKILL)       # the build, or anything it started, still there
        proc.wait()
        clean_stale(self.out)


def _signal_group(pid, sig):
    try:
        os.killpg(pid, sig)
    except ProcessLookupError:
        pass


class Stop(threading.Event):
    """The watcher's stop_event; `watching` is set once watchfiles first asks it (its watches are
    in place by then) or the watcher ended, so no edit made after "serving …" goes unseen."""

    def __init__(self):
        super().__init__()
        self.watching = threading.Event()

    def is_set(self):
        self.watching.set()
        return super().is_set()


def watch(builder, state, stop):
    """Rebuild after every batch of source changes (watchfiles waits for a quiet moment)."""
    try:
        import watchfiles
        paths = [builder.root / d for d in WATCH if (builder.root / d).is_dir()]
        for changes in watchfiles.watch(*paths, stop_event=stop):
            names = sorted({Path(p).name for _, p in changes})
            print(f"changed: {', '.join(names[:5])}{' …' if len(names) > 5 else ''}; rebuilding", file=sys.stderr)
            error = builder.run()
            if stop.is_set():
                return
            print("rebuild failed; still serving the previous site" if error else "rebuilt; reloading open pages",
                  file=sys.stderr)
            state.publish(error)
    finally:
        stop.watching.set()


def _interrupt(signum, frame):
    raise KeyboardInterrupt     # SIGTERM ends serve the way Ctrl-C does: child ended, server closed


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
    """Build, then serve `out` on 127.0.0.1:`port` and rebuild on change until Ctrl-C or SIGTERM,
    which end at once: the watcher stops, a rebuild under way is ended, the server closes."""
    signal.signal(signal.SIGTERM, _interrupt)
    state, builder, stop = State(), Builder(out, root), Stop()
    try:
        error = builder.run()
        if error and not (out / "index.html").is_file():
            print("error: the first build failed and there is no previous site to serve", file=sys.stderr)
            return 1
        state.publish(error)
        handler = type("SiteHandler", (Handler,), {"state": state})
        threading.Thread(target=watch, args=(builder, state, stop), daemon=True).start()
        stop.watching.wait()
        with Server(("127.0.0.1", port), lambda *a: handler(*a, directory=str(out))) as httpd:
            print(f"serving {out} on http://127.0.0.1:{port}/ (Ctrl-C to stop)", flush=True)
            httpd.serve_forever()
    finally:
        stop.set()
        builder.stop()
    return 0
