"""`nnviz build`: a thin orchestrator over named stages (mkdocs' build() shape).

data -> train (cached) -> analyse -> export + runtime + render into a temp folder -> swap into place.
Stages compute in memory; only the last stage writes, and the old site stays intact until the swap.
"""
import os
import shutil
import time
from pathlib import Path

from . import analyse as an
from . import cache as ch
from . import cited, data, export, labdata, neurons, repmap, strings
from . import runtime as nnviz_runtime
from .common import pct  # noqa: F401 - the chapters' percent format (tests import it from here)
from .specs import SPECS

ROOT = Path(__file__).resolve().parents[2]
STROKE = 0.3      # a first-layer neuron counts as "one stroke" when that stroke holds this share of its weight
OPTIONAL = ("cifar10",)   # in no reachable registry: a build without it says so and goes on


def build(out, root=ROOT, specs=SPECS, load_data=None, cache=None, strict=True, runtime=True,
          progress=print):
    """Build the whole site into `out`. Returns the context the pages were rendered with."""
    t0 = time.perf_counter()
    load_data = load_data or data.load
    cache = Path(cache or os.environ.get("NNVIZ_MODEL_CACHE") or root / ".cache")
    clean_stale(Path(out))
    datasets = load_datasets({s.dataset for s in specs}, load_data, progress)
    trained = train_all([s for s in specs if s.dataset in datasets], datasets, cache, progress)
    results = analyse_all(trained, datasets, cache, progress)
    lab = lab_all(datasets, cache, progress)
    tmp = Path(out).parent / f".{Path(out).name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    try:
        unavailable = sorted(s.name for s in specs if s.dataset not in datasets)
        missing = sorted({s.dataset for s in specs} - set(datasets))
        pairs = [(s.compare_to, s.name) for s in specs if s.compare_to]     # "what the hidden layer changed"
        context = write_site(tmp, root, results, datasets, missing, unavailable, strict, runtime, progress, lab,
                             pairs)
        swap(tmp, Path(out))
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    progress(f"built {out} in {time.perf_counter() - t0:.1f} s")
    return context


def load_datasets(names, load_data, progress):
    """{name: Dataset} for every dataset that can be had; a one-line notice in the build log for each
    that cannot (pages say it in their own words, without the builder's paths or errors)."""
    datasets = {}
    for name in sorted(names):
        try:
            datasets[name] = load_data(name)
        except data.DataUnavailable as e:
            if name not in OPTIONAL:      # the chapters need it: one clear error, not a notice
                raise data.DataUnavailable(f"{e} (the site needs {name}; only "
                                           f"{', '.join(OPTIONAL)} may be missing)") from None
            progress(f"NOTICE: {e}")
    return datasets


def train_all(specs, datasets, cache, progress):
    """[(model, meta)] in table order; cached models load in milliseconds."""
    progress(f"training {len(specs)} models (cache: {cache})")
    return [ch.train_cached(s, datasets[s.dataset], cache, progress) for s in specs]


def lab_all(datasets, cache, progress):
    """The training lab's data and the chapter's lab runs: (blob, manifest, vars), or None without MNIST."""
    if "mnist" not in datasets:
        return None
    blob, manifest = labdata.subset(datasets["mnist"])
    return blob, manifest, labdata.chapter_vars(labdata.experiments(blob, manifest, cache, progress), manifest)


def analyse_all(trained, datasets, cache, progress):
    """[(model, meta, analysis, pred)] for every trained model (cached like the models)."""
    progress("analysing")
    return [(model, meta, *ch.analyse_cached(model, meta, datasets[model.spec["dataset"]], cache, progress))
            for model, meta in trained]


def write_site(tmp, root, results, datasets, missing, unavailable, strict, runtime, progress, lab=None, pairs=()):
    """Export data, vendor the browser runtime and render the pages into `tmp`. `pairs`: (a, b)
    model pairs to compare (Spec.compare_to); the diffmatrix demo shows the first."""
    from .render import render_site
    entries, analyses, preds, strips = {}, {}, {}, {}
    shown = {name: set() for name in datasets}
    showcase = shown_models(root)
    for model, meta, analysis, pred in results:
        ds = datasets[model.spec["dataset"]]
        entries[model.name] = export.export_model(tmp, model, meta, analysis, pred, ds, model.name in showcase)
        if model.name in neurons.MODELS:      # what each shown hidden neuron answers to
            strips[model.name] = neurons.answers(model, ds)
            neurons.export(tmp, model, ds, strips[model.name])
        analyses[model.name], preds[model.name] = analysis, pred
        if model.name in showcase:
            shown[ds.name] |= export.referenced(analysis)
    compares = []
    for a, b in pairs:
        if a in preds and b in preds:
            ds = datasets[entries[a]["dataset"]]
            compares.append({"a": a, "b": b, **an.compare(preds[a], preds[b], ds.y_test)})
            export.write_json(tmp / "data" / "compare" / f"{a}__{b}.json", compares[-1])
            for cell in compares[-1]["cells"].values():
                shown[ds.name] |= set(cell["fixed"]) | set(cell["broke"])
    compare = compares[0] if compares else {}
    site_strings = strings.site_strings(root, strings.languages(root))
    for entry in entries.values():       # reader-facing names, for the browser and for readers of models.json
        entry["title"] = {lang: strings.model_title(t, entry) for lang, t in site_strings.items()}
    for name, ds in datasets.items():
        export.export_samples(tmp, ds, shown[name], random=an.sample_indices(len(ds.y_test), 300))
        export.export_class_means(tmp, ds.name, an.class_means(ds.x_train, ds.y_train))
    export.write_json(tmp / "data" / "models.json", list(entries.values()))
    if lab:
        labdata.export(tmp, *lab[:2])
    maps = repmap.compute_all(results, datasets)
    repmap.export_all(tmp, maps, datasets)
    if runtime:
        nnviz_runtime.vendor(tmp, root, progress=progress)
    chapter_numbers = {**chapter_vars(entries, analyses, datasets, root), "lab": lab[2] if lab else {},
                       "neurons": neurons.chapter_vars(strips, {n: entries[n]["classes"] for n in strips}),
                       "repmap": repmap.chapter_vars(maps), "cited": cited.chapter_vars()}
    context = {"models": entries, "unavailable": unavailable, "vars": chapter_numbers, "missing": missing,
               "facts": facts(chapter_numbers),
               "data": {"analysis": analyses, "compare": compare, "cited": cited.CITED,
                        "neurons": {n: sorted({(s["layer"], s["unit"]) for s in v}) for n, v in strips.items()},
                        "datasets": {n: {"classes": list(d.classes), "train": len(d.y_train), "test": len(d.y_test)}
                                     for n, d in datasets.items()}}}
    render_site(root, tmp, context, strict=strict, progress=progress)
    nnviz_runtime.compress(tmp)
    return context


def shown_models(root):
    """The models whose test images a chapter shows: the model= of every `::: demo NAME` whose
    demo is one of export.IMAGE_DEMOS, in any language. So a new one is a chapter line, nothing else."""
    from .chapters import read_chapters
    from .mdext import demo_calls
    chapters = read_chapters(root, strings.languages(root), problem=lambda msg: None)   # render reports them
    return {args["model"] for ch in chapters for name, args in demo_calls(ch)
            if name in export.IMAGE_DEMOS and "model" in args}


def swap(tmp, out):
    """Replace `out` by `tmp` with two renames; a crash before them leaves the old site untouched,
    a failure between them puts it back, and a kill between them is repaired by clean_stale."""
    old = out.parent / f".{out.name}.old-{os.getpid()}"
    if out.exists():
        os.rename(out, old)
    try:
        os.rename(tmp, out)
    except BaseException:
        if old.exists() and not out.exists():
            os.rename(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


def clean_stale(out):
    """Remove what killed builds left beside `out`: `.NAME.tmp-PID` / `.NAME.old-PID` folders of
    processes that no longer run (a running build's folders are left alone). A build killed
    between swap's two renames left no `out` but its `.old-PID`: that is put back first."""
    def dead(p):
        pid = p.name.rpartition("-")[2]
        if not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, OverflowError):
            return False
        return False
    if not out.parent.is_dir():
        return
    for kind in ("old", "tmp"):
        for p in sorted(out.parent.glob(f".{out.name}.{kind}-*")):
            if not dead(p):
                continue
            if kind == "old" and not out.exists():
                os.rename(p, out)
            else:
                shutil.rmtree(p, ignore_errors=True)


# ---------------------------------------------------------------- numbers for the prose

def key(name):
    return name.replace("-", "_")


def chapter_vars(entries, analyses, datasets, root=ROOT):
    """Every number a chapter may quote, pre-formatted: {{ acc.mnist_softmax }} -> "92.6%".
    Class names come in the page's language (strings.PerLanguage, from templates/i18n.toml)."""
    langs = strings.languages(root)
    names = {lang: t["classes"] for lang, t in strings.site_strings(root, langs).items()}
    v = {k: {} for k in ("acc", "acc2", "err", "wrong", "train_acc", "params", "epochs", "seconds",
                         "conf", "worst", "recall", "precision", "n")}
    for name, e in entries.items():
        a, k = analyses[name], key(name)
        cm = a["confusion"]
        v["acc"][k] = pct(e["test_accuracy"])
        v["acc2"][k] = pct(e["test_accuracy"], 2)
        v["err"][k] = pct(1 - e["test_accuracy"])
        v["wrong"][k] = f"{sum(cm[i][j] for i in range(10) for j in range(10) if i != j):,}"
        v["train_acc"][k] = pct(e["train_accuracy"])
        v["params"][k] = f"{e['params']:,}"
        v["epochs"][k] = str(e["epochs"])
        v["seconds"][k] = f"{e['train_seconds']:.1f}"
        v["conf"][k] = {f"{i}_{j}": str(cm[i][j]) for i in range(10) for j in range(10)}
        i, j = max(((i, j) for i in range(10) for j in range(10) if i != j), key=lambda c: (cm[c[0]][c[1]], -c[0], -c[1]))
        named = {lang: names[lang].get(e["dataset"], e["classes"]) for lang in langs}
        v["worst"][k] = {"true": strings.PerLanguage({lang: c[i] for lang, c in named.items()}),
                         "pred": strings.PerLanguage({lang: c[j] for lang, c in named.items()}), "count": str(cm[i][j])}
        v["recall"][k] = {str(c): pct(r) for c, r in enumerate(a["recall"])}
        v["precision"][k] = {str(c): pct(p) for c, p in enumerate(a["precision"])}
        if "stroke_share" in a:      # first-layer neurons whose weight is mostly one stroke (analyse.stroke_share)
            shares = a["stroke_share"]
            v.setdefault("strokes", {})[k] = {"count": str(sum(s >= STROKE for s in shares)), "of": str(len(shares)),
                                               "best": pct(max(shares)), "min": pct(STROKE, 0)}
        if a["history"]["test_acc"]:
            h = a["history"]
            best = min(range(len(h["test_loss"])), key=h["test_loss"].__getitem__)    # the epoch of lowest test loss
            v.setdefault("final", {})[k] = {"subset": f"{e['train_subset']:,}", "train_acc": pct(h["train_acc"][-1]),
                                             "test_acc": pct(h["test_acc"][-1]), "test_loss": f"{h['test_loss'][-1]:.3f}",
                                             "best_loss": f"{h['test_loss'][best]:.3f}", "best_loss_epoch": str(h["epoch"][best])}
        g = [r["p_pred"] for r in a["mistakes"]["glaring"]] or [0.0]   # as the mistakes gallery lists them
        v.setdefault("glaring", {})[k] = {"n": str(len(a["mistakes"]["glaring"])), "top": pct(g[0], 2), "last": pct(g[-1], 2)}
        if "template_match" in a:    # {{ tpl.<model>.count }} of the ten templates match their own class best
            v.setdefault("tpl", {})[k] = template_vars(a["template_match"], named)
        if "border_blue" in a:
            v.setdefault("blue", {})[k] = blue_border_vars(a["border_blue"], e["classes"])
    for name, ds in datasets.items():
        v["n"][f"{name}_train"] = f"{len(ds.y_train):,}"
        v["n"][f"{name}_test"] = f"{len(ds.y_test):,}"
    return v


def facts(v):
    """What `::: if fact=NAME` passages test: claims the build checked against its own numbers.
    Every fact is always defined (False when its data is missing), so a chapter never names an
    unknown one just because a dataset was absent."""
    return {"cifar-blue-border": v.get("blue", {}).get("cifar_softmax", {}).get("holds") == "yes"}


def template_vars(corr, named):
    """How many templates correlate best with their own class's average image, and the weakest
    own-class correlation with its class name (per language)."""
    own = [row[k] for k, row in enumerate(corr)]
    weakest = min(range(len(own)), key=own.__getitem__)
    return {"count": str(sum(max(range(len(row)), key=row.__getitem__) == k for k, row in enumerate(corr))),
            "of": str(len(corr)), "best": f"{max(own):.2f}", "worst": f"{own[weakest]:.2f}",
            "worst_class": strings.PerLanguage({lang: c[weakest] for lang, c in named.items()})}


SKY = ("airplane", "ship")   # the classes ml4a says have blue (sky, water) around them


def blue_border_vars(shares, classes):
    """{{ blue.<model>.airplane }} etc.: blue share of each template's border ring
    (analyse.border_blue), the mean of the other classes, and `holds`: "yes" when airplane and
    ship have the two bluest borders of all ten templates (the chapter's condition for saying so)."""
    by = dict(zip(classes, shares))
    others = [s for c, s in by.items() if c not in SKY]
    holds = set(sorted(by, key=by.get)[-2:]) == set(SKY)
    return {**{c: pct(s, 0) for c, s in by.items()}, "others": pct(sum(others) / len(others), 0),
            "holds": "yes" if holds else "no"}
