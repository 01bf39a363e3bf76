#!/usr/bin/env python3
"""Training-lab benchmark (issue 14): the browser against CPython on the same runs, in one go.

    python benchmarks/trainlab.py [--site site] [--epochs 3] [--out benchmarks]

On the built site, in Debian's Chromium (headless, Playwright): epochs per second of the lab's run
on 5,000 images with no hidden layer and with 30 hidden neurons, timed inside the worker's call
loop (compute only) and through the lab's own UI loop (with repaints); main-thread long tasks
(PerformanceObserver) while the UI trains; the lab's repaint times. The same runs in CPython
(nnviz.lab, float64, the machine's BLAS with OPENBLAS_NUM_THREADS as set) give the browser/CPython
ratio. Writes trainlab.json and trainlab.md into --out.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(REPO / "tests" / "browser"))
from conftest import CHROMIUM, CHROMIUM_ARGS, serve_folder  # noqa: E402

from nnviz import lab  # noqa: E402

CONFIGS = {"no hidden layer": {"hidden": 0, "size": 5000}, "30 hidden": {"hidden": 30, "size": 5000}}
TARGETS = {"no hidden layer": 2.0, "30 hidden": 0.5}      # epochs/s in the browser (issue 14)

WORKER_LOOP = """async ([options, epochs]) => {
    const man = await (await fetch(nnviz.root + "data/train/mnist.json")).json();
    const bytes = new Uint8Array(await (await fetch(nnviz.root + "data/train/" + man.file)).arrayBuffer());
    await nnviz.call("train.load", [bytes, man]);
    const v = await nnviz.call("train.reset", ["bench", options]);
    await nnviz.call("train.step", ["bench", v.batches]);          // warm-up epoch
    const times = [];
    for (let e = 0; e < epochs; e++) {
        const t0 = performance.now();
        await nnviz.call("train.step", ["bench", v.batches]);
        times.push(performance.now() - t0);
    }
    return times;
}"""

UI_RUN = """async ([sel, hidden, epochs]) => {
    const fig = document.querySelector(sel);
    const longs = [];
    new PerformanceObserver((l) => longs.push(...l.getEntries().map((e) => e.duration)))
        .observe({type: "longtask", buffered: false});
    const form = fig.querySelector(".train-settings");
    form.elements.hidden.value = String(hidden);
    form.elements.size.value = "5000";
    form.dispatchEvent(new Event("input", {bubbles: true}));
    fig.trainLab.paintTimes.length = 0;
    fig.querySelector('[data-action="reset"]').click();
    fig.querySelector('[data-action="run"]').click();
    await new Promise((resolve) => {
        const check = () => Number(fig.dataset.epoch) >= 1 ? resolve() : setTimeout(check, 20);
        check();
    });
    const t0 = performance.now();
    await new Promise((resolve) => {
        const check = () => Number(fig.dataset.epoch) >= 1 + epochs ? resolve() : setTimeout(check, 20);
        check();
    });
    const seconds = (performance.now() - t0) / 1000;
    fig.querySelector('[data-action="run"]').click();
    return {epochs_per_s: epochs / seconds, long_tasks: longs, paint_ms: fig.trainLab.paintTimes.slice()};
}"""


def cpython_epoch_seconds(site, options, epochs):
    man = json.loads((site / "data" / "train" / "mnist.json").read_text())
    data = lab.unpack((site / "data" / "train" / man["file"]).read_bytes(), man)
    run = lab.Lab(data, options)
    run.step(10 ** 9)                                   # warm-up epoch, as in the browser
    times = []
    for _ in range(epochs):
        t0 = time.perf_counter()
        run.step(10 ** 9)
        times.append(time.perf_counter() - t0)
    return times


def browser_runs(site, epochs):
    from playwright.sync_api import sync_playwright
    out = {}
    with serve_folder(site) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.set_default_timeout(600_000)
        page.goto(url + "en/looking-inside.html")
        page.evaluate("nnviz.start()")
        page.wait_for_function("document.documentElement.dataset.runtime === 'ready'")
        sel = page.evaluate("'#' + document.querySelector('[data-live-demo=\"train\"]').id")
        for name, options in CONFIGS.items():
            worker = page.evaluate(WORKER_LOOP, [options, epochs])
            ui = page.evaluate(UI_RUN, [sel, options["hidden"], epochs])
            out[name] = {"worker_epoch_ms": worker, "ui": ui}
        browser.close()
    return out


def summarise(site, epochs):
    browser = browser_runs(site, epochs)
    rows = {}
    for name, options in CONFIGS.items():
        cpy = statistics.median(cpython_epoch_seconds(site, options, epochs))
        b = browser[name]
        web = statistics.median(b["worker_epoch_ms"]) / 1000
        paint = b["ui"]["paint_ms"]
        rows[name] = {
            "browser_epochs_per_s": 1 / web, "browser_ui_epochs_per_s": b["ui"]["epochs_per_s"],
            "cpython_epochs_per_s": 1 / cpy, "browser_over_cpython": web / cpy,
            "target_epochs_per_s": TARGETS[name], "met": 1 / web >= TARGETS[name],
            "long_tasks": len(b["ui"]["long_tasks"]), "longest_task_ms": max(b["ui"]["long_tasks"], default=0),
            "repaint_ms_median": statistics.median(paint) if paint else None,
            "repaint_ms_max": max(paint) if paint else None, "raw": b}
    return {"epochs": epochs, "loadavg": os.getloadavg(), "blas_threads": os.environ.get("OPENBLAS_NUM_THREADS"),
            "configs": rows}


def markdown(r):
    lines = ["# Training lab benchmark", "",
             f"Lab runs on 5,000 MNIST images, batch {lab.BATCH}, float64, median of {r['epochs']} epochs after one "
             f"warm-up epoch; load average at the end {r['loadavg'][0]:.1f} (2 cores shared), "
             f"OPENBLAS_NUM_THREADS={r['blas_threads']}.", "",
             "| model | browser epochs/s (worker) | target | with UI repaints | CPython epochs/s | browser/CPython time per epoch | long tasks > 50 ms (longest) | repaint median / max |",
             "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for name, c in r["configs"].items():
        lines.append(f"| {name} | {c['browser_epochs_per_s']:.2f} | ≥ {c['target_epochs_per_s']} ({'met' if c['met'] else 'not met'}) "
                     f"| {c['browser_ui_epochs_per_s']:.2f} | {c['cpython_epochs_per_s']:.1f} | {c['browser_over_cpython']:.1f}× "
                     f"| {c['long_tasks']} ({c['longest_task_ms']:.0f} ms) | {c['repaint_ms_median']:.1f} / {c['repaint_ms_max']:.1f} ms |")
    lines += ["", "Repaint = the lab's paint() on the main thread (10 or 30 weight pictures, two charts, counters); "
              "target ≤ 16 ms. Long tasks come from the PerformanceObserver while the UI trains (target: none over 50 ms)."]
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--site", type=Path, default=REPO / "site")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--out", type=Path, default=HERE)
    args = ap.parse_args(argv)
    report = summarise(args.site, args.epochs)
    (args.out / "trainlab.json").write_text(json.dumps(report, indent=1))
    (args.out / "trainlab.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
