"""Where the main thread's long tasks go while the runtime starts (issue 13; a diagnostic, not
part of `make bench`). Opens the deep link to the lab cold, under a Chromium trace, and prints each
main-thread task over 50 ms with the trace events inside it that cost the most (style, layout,
paint, parsing, script; inclusive times, so nested events overlap), so a change can be aimed at
the real cost.

    cd benchmarks && ../.venv/bin/python trace_startup.py ../site [runs]
"""
from __future__ import annotations

import collections
import sys
import threading
from pathlib import Path

import startup
from browser import load_test_helpers, serve
from machine import CHAPTER, CHROMIUM

CATEGORIES = "devtools.timeline,disabled-by-default-devtools.timeline,blink,loading,toplevel,v8"
LONG_US = 50_000
WRAPPERS = {"RunTask", "ThreadControllerImpl::RunTask"}


def traced_answer(ctx, url):
    """First answer of `url` in a new page of `ctx` -> (startup.first_answer's dict, trace events)."""
    page = ctx.new_page()
    cdp = ctx.new_cdp_session(page)
    events, done = [], threading.Event()
    cdp.on("Tracing.dataCollected", lambda e: events.extend(e["value"]))
    cdp.on("Tracing.tracingComplete", lambda e: done.set())
    cdp.send("Tracing.start", {"categories": CATEGORIES, "transferMode": "ReportEvents"})
    m = startup.first_answer(page, url)
    cdp.send("Tracing.end")
    for _ in range(600):               # Playwright delivers the events only while it waits
        if done.is_set():
            break
        page.wait_for_timeout(100)
    else:
        raise SystemExit("trace_startup: Chromium sent no Tracing.tracingComplete within 60 s")
    return m, events


def long_tasks(events):
    """-> [(start ms from the first main-thread event, duration ms, Counter of inner event ms)]."""
    mains = {(e["pid"], e["tid"]) for e in events if e.get("ph") == "M" and e.get("name") == "thread_name"
             and e["args"]["name"] == "CrRendererMain"}
    parses = collections.Counter((e["pid"], e["tid"]) for e in events if e.get("name") == "ParseHTML")
    main = max(mains, key=lambda k: parses.get(k, 0))      # the chapter's renderer, not about:blank's
    ev = [e for e in events if (e["pid"], e["tid"]) == main and e.get("ph") == "X" and "dur" in e]
    t0 = min(e["ts"] for e in ev)
    out = []
    for t in (e for e in ev if e["name"] == "ThreadControllerImpl::RunTask" and e["dur"] > LONG_US):
        inner = collections.Counter()
        for e in ev:
            if e["name"] not in WRAPPERS and t["ts"] <= e["ts"] and e["ts"] + e["dur"] <= t["ts"] + t["dur"]:
                inner[e["name"]] += e["dur"] / 1000
        out.append(((t["ts"] - t0) / 1000, t["dur"] / 1000, inner))
    return sorted(out, key=lambda x: x[0])


def main(site, runs):
    conftest, _ = load_test_helpers()
    from nnviz.pages import CSP
    httpd, base = serve(site, startup.c5_handler(conftest.Handler, [0], CSP), isolated=False)
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=conftest.CHROMIUM_ARGS)
        url = startup.lab_state(browser, base, CHAPTER)
        for r in range(runs):
            ctx = browser.new_context(viewport={"width": 1280, "height": 900})
            ctx.add_init_script(startup.INIT)
            m, events = traced_answer(ctx, url)
            ctx.close()
            print(f"run {r + 1}: answer {m['answer_ms']:.0f} ms, first paint {m['fcp_ms']:.0f} ms, "
                  f"worker's first line {m['steps'].get('worker', 0):.0f} ms (traced: all slower)")
            for start, dur, inner in long_tasks(events):
                top = ", ".join(f"{k} {v:.0f}" for k, v in inner.most_common(6))
                print(f"  @{start:6.0f} ms {dur:4.0f} ms: {top}")
        browser.close()
    httpd.shutdown()


if __name__ == "__main__":
    main(Path(sys.argv[1]).resolve(), int(sys.argv[2]) if len(sys.argv) > 2 else 1)
