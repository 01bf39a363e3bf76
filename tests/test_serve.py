"""serve.py's HTTP side, on an in-process server over a temp folder (issue 16 item 6, contract C5):
MIME types, no directory listings, precompressed files by Accept-Encoding, Cache-Control by
hashed name, the live-reload tag and status endpoint, quiet disconnects, idle timeouts.
The rebuild loop itself runs as a real `nnviz serve` in tests/browser/test_serve_reload.py."""
import gzip
import http.client
import json
import socket
import struct
import threading

import pytest

from nnviz import serve as sv


@pytest.fixture
def server(tmp_path, monkeypatch):
    """(port, state, folder): a Server on a free port serving tmp_path/site."""
    site = tmp_path / "site"
    (site / "static" / "js").mkdir(parents=True)
    (site / "runtime").mkdir()
    (site / "empty").mkdir()
    (site / "index.html").write_text("<!doctype html><html><body><p>hi</p></body></html>")
    (site / "runtime" / "pyodide.asm.wasm").write_bytes(b"\0asm" + bytes(100))
    (site / "static" / "js" / "app.js").write_text("export const x = 1;\n" * 50)
    (site / "static" / "js" / "app.js.gz").write_bytes(gzip.compress(b"export const x = 1;\n" * 50))
    (site / "static" / "js" / "app.js.br").write_bytes(b"pretend-brotli")
    (site / "static" / "js" / "app.1a2b3c4d.js").write_text("export const y = 2;\n")
    (site / "static" / "js" / "app.abc.js").write_text("export const z = 3;\n")
    state = sv.State()
    handler = type("H", (sv.Handler,), {"state": state, "timeout": 2})
    httpd = sv.Server(("127.0.0.1", 0), lambda *a: handler(*a, directory=str(site)))
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield httpd.server_address[1], state, site
    httpd.shutdown()
    httpd.server_close()


def get(port, path, **headers):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request("GET", path, headers=headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r, body


def test_wasm_is_served_as_application_wasm(server):
    r, body = get(server[0], "/runtime/pyodide.asm.wasm")
    assert r.status == 200 and r.getheader("Content-Type") == "application/wasm" and body[:4] == b"\0asm"


def test_no_directory_listings(server):
    r, body = get(server[0], "/empty/")
    assert r.status == 404 and b"empty" not in body.split(b"<title>")[0]
    assert get(server[0], "/static/js/")[0].status == 404
    assert get(server[0], "/static/js")[0].status == 301          # the slash form, as usual


@pytest.mark.parametrize("accept, coding", [
    ("gzip, deflate, br", "br"), ("gzip", "gzip"), ("br;q=0, gzip;q=0.5", "gzip"),
    ("identity", None), ("", None), ("gzip;q=0", None), ("*", "br")])
def test_precompressed_files_by_accept_encoding(server, accept, coding):
    port, _, site = server
    r, body = get(port, "/static/js/app.js", **({"Accept-Encoding": accept} if accept else {}))
    assert r.status == 200 and r.getheader("Content-Encoding") == coding
    assert r.getheader("Content-Type") == "text/javascript"
    assert r.getheader("Vary") == "Accept-Encoding"
    want = {"br": ".br", "gzip": ".gz", None: ""}[coding]
    assert body == (site / "static" / "js" / f"app.js{want}").read_bytes()
    assert int(r.getheader("Content-Length")) == len(body)


@pytest.mark.parametrize("path, cache", [
    ("/static/js/app.1a2b3c4d.js", "public, max-age=31536000, immutable"),
    ("/static/js/app.js", "no-cache"), ("/static/js/app.abc.js", "no-cache"), ("/", "no-cache")])
def test_cache_control_by_hashed_name(server, path, cache):
    assert get(server[0], path)[0].getheader("Cache-Control") == cache


def test_pages_get_the_live_reload_script(server):
    r, body = get(server[0], "/", **{"Accept-Encoding": "gzip, br"})
    assert r.getheader("Content-Encoding") is None
    assert body.endswith(sv.RELOAD_TAG + b"</body></html>")
    r, js = get(server[0], "/__nnviz/reload.js")
    assert r.status == 200 and r.getheader("Content-Type") == "text/javascript"
    assert js == sv.RELOAD_JS.read_bytes() and b"/__nnviz/status" in js


def test_status_answers_at_once_then_waits_for_the_next_build(server):
    port, state, _ = server
    state.publish(None)
    r, body = get(port, "/__nnviz/status?since=-1")
    assert r.getheader("Cache-Control") == "no-store" and json.loads(body) == {"version": 1, "error": None}
    answer = {}
    waiting = threading.Thread(target=lambda: answer.update(json.loads(get(port, "/__nnviz/status?since=1")[1])))
    waiting.start()
    state.publish("chapters/en/x.md:3: unknown variable 'acc.nope'")
    waiting.join(30)
    assert answer == {"version": 2, "error": "chapters/en/x.md:3: unknown variable 'acc.nope'"}


def test_a_client_that_disconnects_gets_one_quiet_line(server, monkeypatch, capsys):
    port = server[0]
    (server[2] / "big.bin").write_bytes(bytes(32 << 20))
    handled = threading.Event()
    real = sv.Server.handle_error
    monkeypatch.setattr(sv.Server, "handle_error", lambda *a: (real(*a), handled.set()))
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET /big.bin HTTP/1.0\r\n\r\n")
    s.recv(1024)                                                      # the download has started
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()                                                         # reset mid-download
    assert handled.wait(30)
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) == 1 and "went away" in err, err


def test_idle_connections_time_out(server):
    """A client that connects and says nothing is dropped (handler timeout, 2 s in this fixture)."""
    assert isinstance(sv.Handler.timeout, (int, float)) and 0 < sv.Handler.timeout <= 60
    s = socket.create_connection(("127.0.0.1", server[0]))
    s.settimeout(60)
    assert s.recv(1024) == b""                                        # closed by the server
    s.close()


def test_accept_encoding_parsing():
    assert sv.accepted("gzip;q=1.0, br; q=0") == {"gzip"}
    assert sv.accepted("BR, GZip") == {"br", "gzip"}
    assert sv.accepted(None) == set()
