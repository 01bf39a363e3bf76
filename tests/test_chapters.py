"""The chapters: each English chapter has a Chinese twin with the same structure, every number in the
prose is a build variable, and each text is written in its own language.

Fast and independent of training: the variable names are taken from `nnviz.build.chapter_vars` run on
a small fake set of entries and analyses with the real model table's names. CIFAR-10 cannot be had
on our build machines, so its numbers may only be used inside `::: if dataset=cifar10` passages.
"""
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from nnviz.build import chapter_vars, key
from nnviz.data import CLASSES
from nnviz.chapters import parse_args, parse_front_matter
from nnviz.specs import SPECS

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = ROOT / "chapters"
SLUGS = sorted(p.stem for p in (CHAPTERS / "en").glob("*.md") if not p.name.startswith(("_", ".")))

# Works a chapter may cite numbers from. A hard-coded percentage (or a number with thousands
# separators) is allowed only in a sentence that names one of them.
CITED = ("ml4a", "Kogan", "3Blue1Brown", "Sanderson", "Agarwal", "Nityesh", "CSC411", "Guerzhoy",
         "Nielsen", "LeCun", "Xiao", "Krizhevsky")
DATASETS = ("mnist", "fashion", "cifar10")
# The demos the chapter must place (issue 6): (name, model or None).
REQUIRED_DEMOS = {
    ("diagram", None), ("templates", "mnist-softmax"), ("confusion", "mnist-softmax"),
    ("topgrid", "mnist-softmax"), ("mistakes", "mnist-softmax"), ("samples", "fashion-softmax"),
    ("confusion", "fashion-softmax"), ("samples", None), ("templates", "cifar-softmax"),
    ("confusion", "cifar-softmax"), ("hidden", "cifar-h100"), ("confusion", "mnist-h10"),
    ("hidden", "mnist-h10"), ("diffmatrix", None), ("filters", "mnist-h16x16"), ("draw", "mnist-h16x16"),
    ("lego", "mnist-h30"), ("sweep", None), ("compare", None), ("overfit", None),
    ("mistakes", "mnist-h16x16"),       # issue 11: 3Blue1Brown's gallery of confident mistakes
}
LABEL_ARGS = ("caption", "title", "alt")   # translated per language; everything else must match

VAR_RE = re.compile(r"\{\{(.*?)\}\}")
DEMO_RE = re.compile(r"^::: demo ([A-Za-z0-9_][\w-]*)(.*)$")
CJK_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
LATIN_RE = re.compile(r"[A-Za-z]")
PERCENT_RE = re.compile(r"\d\s*%|\bper ?cent\b|百分之", re.I)
THOUSANDS_RE = re.compile(r"\d{1,3}(?:,\d{3})+")


# ------------------------------------------------------------------ reading

def read(lang, slug):
    path = CHAPTERS / lang / f"{slug}.md"
    lines = path.read_text(encoding="utf-8").lstrip("\ufeff").replace("\r\n", "\n").split("\n")
    meta, start = parse_front_matter(lines, path.relative_to(ROOT).as_posix())
    return {k: v for k, (v, _) in meta.items()}, lines[start:], start


def demos(body):
    """[(name, {args without translated labels})] in page order."""
    out = []
    for line in body:
        m = DEMO_RE.match(line)
        if m:
            args = parse_args(m.group(2), "chapter")
            out.append((m.group(1), {k: v for k, v in args.items() if k not in LABEL_ARGS}))
    return out


def prose(body):
    """The reader's text: no fenced code, directives, variables, math, inline code or link targets."""
    kept, fence = [], None
    for line in body:
        m = re.match(r"^ {0,3}(`{3,}|~{3,})", line)
        if fence:
            if m and m.group(1)[0] == fence[0]:
                fence = None
            continue
        if m:
            fence = m.group(1)
            continue
        if line.startswith(":::"):
            kept.append("")
            continue
        kept.append(line)
    text = "\n".join(kept)
    text = VAR_RE.sub(" ", text)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    text = re.sub(r"(?<!\\)\$[^$\n]+?(?<!\\)\$", " ", text)
    text = re.sub(r"`[^`\n]*`", " ", text)
    text = re.sub(r"\]\([^)\s]*\)", "]", text)
    text = re.sub(r"<[^>\n]+>", " ", text)
    return text


def sentences(text):
    """Sentences, for both languages: split at line ends and after . ! ? (followed by a space) or 。！？"""
    out = []
    for line in text.split("\n"):
        out += [s for s in re.split(r"(?<=[.!?])\s+|(?<=[。！？])", line) if s.strip()]
    return out


def uncited_numbers(text):
    """Sentences that hold a percentage or a big count but name no cited work."""
    bad = []
    for s in sentences(text):
        if (PERCENT_RE.search(s) or THOUSANDS_RE.search(s)) and not any(c.lower() in s.lower() for c in CITED):
            bad.append(s.strip())
    return bad


def fake_var_tree(cifar=False):
    """chapter_vars() on fake entries/analyses for every model of the table (CIFAR-10's only with
    cifar=True, as a build that had the archive)."""
    entries, analyses = {}, {}
    for spec in SPECS:
        if spec.dataset == "cifar10" and not cifar:
            continue
        d = spec.as_dict()
        hist = ([0.5] * spec.epochs) if spec.curves else []
        entries[spec.name] = {
            **d, "name": spec.name, "test_accuracy": 0.9, "train_accuracy": 0.95, "train_seconds": 1.0,
            "params": sum(a * b + b for a, b in zip(spec.layers, spec.layers[1:])),
            "classes": list(CLASSES["cifar10"]) if spec.dataset == "cifar10" else [str(c) for c in range(10)], "file": f"data/models/{spec.name}.npz", "note": spec.note,
        }
        conf = [[90 if i == j else i + j for j in range(10)] for i in range(10)]
        analyses[spec.name] = {
            "name": spec.name, "test_accuracy": 0.9, "train_accuracy": 0.95, "confusion": conf,
            "precision": [0.9] * 10, "recall": [0.9] * 10, "cells": {}, "mistakes": {"glaring": [], "near": []},
            "history": {"epoch": list(range(1, len(hist) + 1)), "train_loss": hist, "train_acc": hist,
                        "test_loss": hist, "test_acc": hist},
            "train_seconds": 1.0,
        }
        if spec.layers == [3072, 10]:
            analyses[spec.name]["border_blue"] = [0.3] * 10
        if not spec.hidden:              # templates against class averages (analyse.template_match)
            analyses[spec.name]["template_match"] = [[0.7 if i == j else 0.1 for j in range(10)] for i in range(10)]
        if spec.hidden:                  # first-layer neurons of a 28x28 model (analyse.stroke_share)
            analyses[spec.name]["stroke_share"] = [0.5] * spec.hidden[0]
    datasets = {name: SimpleNamespace(name=name, y_train=[0] * 7, y_test=[0] * 3, classes=[str(c) for c in range(10)])
                for name in ("mnist", "fashion") + (("cifar10",) if cifar else ())}
    from nnviz import cited
    return {**chapter_vars(entries, analyses, datasets), "lab": fake_lab_vars(), "repmap": fake_repmap_vars(),
            "neurons": fake_neuron_vars(), "cited": cited.chapter_vars()}


def fake_repmap_vars():
    """repmap.chapter_vars() on fake maps of every model in repmap.MAPS."""
    import numpy as np
    from nnviz import repmap
    y = np.arange(20) % 10
    maps = {name: {"label": y, "pred": y[::-1], "accuracy": 0.5, "hidden": 30, "share": np.array([0.2, 0.1]) if view == "pca" else None,
                   "regions": np.zeros((4, 4), int) if view == "plane" else None} for name, view in repmap.MAPS}
    return repmap.chapter_vars(maps)


def fake_neuron_vars():
    """neurons.chapter_vars() on fake strips: every shown neuron's top images of one class."""
    from nnviz import neurons
    strips = {spec.name: [{"layer": l + 1, "unit": u, "labels": [u % 10] * neurons.K, "silent": 0.5}
                          for l, n in enumerate(spec.hidden) for u in range(n)]
              for spec in SPECS if spec.name in neurons.MODELS and spec.dataset != "cifar10"}
    return neurons.chapter_vars(strips, {name: [str(c) for c in range(10)] for name in strips})


def fake_lab_vars():
    """labdata.chapter_vars() on a fake result of the lab's runs."""
    from nnviz import labdata
    h = {"test_acc": [0.9] * 5}
    runs = {"l2_0": {"train_acc": 1.0, "test_acc": 0.88, "test_loss": 0.4, "roughness": 1.2, "mean_abs_w": 0.05},
            "l2_0.01": {"train_acc": 0.99, "test_acc": 0.89, "test_loss": 0.3, "roughness": 1.1, "mean_abs_w": 0.02}}
    result = {"base": h, "scrambled": h, "h30": h, "h30_scrambled": h, "early": {"100": 0.7, "500": 0.75, "1000": 0.8},
              "settle": [5000] * 10, "scrambled_roughness": {"as_learned": 1.5, "unscrambled": 0.6},
              "unscrambled_corr": 1.0, **runs}
    return labdata.chapter_vars(result, {"train": 5000, "test": 2000})


def cifar_lines(body):
    """For each line: is it inside a `::: if dataset=cifar10` passage (either branch)?"""
    inside, depth = [], 0
    for line in body:
        if depth == 0 and line.strip() == "::: if dataset=cifar10":
            depth = 1
        elif depth and line.startswith(("::: if ", "::: note")):
            depth += 1
        elif depth and line.strip() == ":::":
            depth -= 1
        inside.append(depth > 0)
    return inside


def resolve(tree, dotted):
    cur = tree
    for part in dotted.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


# ------------------------------------------------------------------ the checker checks itself

def test_number_rule_catches_hard_coded_figures_and_allows_citations():
    assert uncited_numbers("It gets 92.6% right. Then more.")
    assert uncited_numbers("There are 60,000 images.")
    assert uncited_numbers("准确率是 92%。")
    assert not uncited_numbers("Kogan's ml4a chapter reports about 90% for it. It has 784 inputs.")
    assert not uncited_numbers("In Nityesh Agarwal's sweep, two neurons gave 22.80%, three 58.75%.")
    assert not uncited_numbers("CIFAR-10 (Krizhevsky, 2009) holds 60,000 photos.")
    assert not uncited_numbers("根据 ml4a 的报告，大约是 37%。")
    assert uncited_numbers("Kogan said so. Ours gets 92%.")   # the citation must be in the same sentence


def test_prose_drops_variables_math_and_directives():
    body = ["A {{ acc.mnist_softmax }} b $x_i = 50%$ c", "::: demo sweep", "$$\\frac{1}{2}$$", "```", "90%", "```"]
    text = prose(body)
    assert "acc" not in text and "%" not in text and "sweep" not in text and "frac" not in text


# ------------------------------------------------------------------ the chapters

def test_there_is_a_chapter_and_every_chapter_has_a_chinese_twin():
    assert "looking-inside" in SLUGS
    for slug in SLUGS:
        assert (CHAPTERS / "zh" / f"{slug}.md").is_file(), f"chapters/zh/{slug}.md is missing"
    zh = sorted(p.stem for p in (CHAPTERS / "zh").glob("*.md") if not p.name.startswith(("_", ".")))
    assert zh == SLUGS, "every zh chapter translates an en chapter of the same name"


@pytest.mark.parametrize("slug", SLUGS)
def test_same_front_matter_keys_and_order(slug):
    en, _, _ = read("en", slug)
    zh, _, _ = read("zh", slug)
    assert set(en) == set(zh)
    assert en["title"] and zh["title"] and en.get("summary") and zh.get("summary")
    assert en.get("order") == zh.get("order")


@pytest.mark.parametrize("slug", SLUGS)
def test_same_demos_notes_and_headings_in_the_same_order(slug):
    _, en, _ = read("en", slug)
    _, zh, _ = read("zh", slug)
    assert demos(en) == demos(zh)
    for pattern in (r"^::: note\b", r"^:::\s*$", r"^## ", r"^### ", r"^\$\$"):
        n_en = sum(bool(re.match(pattern, l)) for l in en)
        n_zh = sum(bool(re.match(pattern, l)) for l in zh)
        assert n_en == n_zh, f"{pattern!r}: {n_en} in en, {n_zh} in zh"
    links = lambda body: re.findall(r"\]\((\S+?)\)", "\n".join(body))
    assert links(en) == links(zh), "both languages cite the same works, in the same order"


def test_the_chapter_places_every_demo_of_the_issue():
    _, body, _ = read("en", "looking-inside")
    placed = {(name, args.get("model")) for name, args in demos(body)}
    assert REQUIRED_DEMOS - placed == set()


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("slug", SLUGS)
def test_demo_arguments_name_real_models_and_datasets(lang, slug):
    _, body, _ = read(lang, slug)
    names = {s.name for s in SPECS}
    for name, args in demos(body):
        for model in [args.get("model")] + args.get("models", "").split(","):
            assert not model or model in names, f"demo {name}: unknown model {model!r}"
        assert args.get("dataset", "mnist") in DATASETS, f"demo {name}: unknown dataset {args['dataset']!r}"


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("slug", SLUGS)
def test_every_variable_resolves(lang, slug):
    """Outside CIFAR passages against a build without CIFAR-10; inside them, with it."""
    trees = {False: fake_var_tree(), True: fake_var_tree(cifar=True)}
    _, body, start = read(lang, slug)
    problems = []
    for n, (line, cifar) in enumerate(zip(body, cifar_lines(body)), start + 1):
        for m in VAR_RE.finditer(line):
            name = m.group(1).strip()
            value = resolve(trees[cifar], name)
            if value is None or isinstance(value, dict):
                problems.append(f"chapters/{lang}/{slug}.md:{n}: {{{{ {name} }}}} is not a chapter variable")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("slug", SLUGS)
def test_no_hard_coded_percentages_or_counts(lang, slug):
    _, body, _ = read(lang, slug)
    bad = uncited_numbers(prose(body))
    assert not bad, ("numbers must come from {{ variables }}, or be cited in the same sentence "
                     f"(one of {', '.join(CITED)}):\n" + "\n".join(bad))


@pytest.mark.parametrize("slug", SLUGS)
def test_english_chapter_is_english(slug):
    _, body, _ = read("en", slug)
    text = prose(body)
    latin, cjk = len(LATIN_RE.findall(text)), len(CJK_RE.findall(text))
    assert latin > 1000 and cjk <= 0.01 * latin, f"{cjk} CJK characters against {latin} Latin letters"


@pytest.mark.parametrize("slug", SLUGS)
def test_chinese_chapter_is_chinese(slug):
    meta, body, _ = read("zh", slug)
    text = prose(body)
    latin, cjk = len(LATIN_RE.findall(text)), len(CJK_RE.findall(text))
    assert cjk > 1000 and cjk > latin, f"{cjk} CJK characters against {latin} Latin letters"
    assert CJK_RE.search(meta["title"]) and CJK_RE.search(meta["summary"])


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("slug", SLUGS)
def test_every_section_opens_with_a_question(lang, slug):
    """Each section (but the last, the reading list) asks the reader something in its first paragraph."""
    _, body, _ = read(lang, slug)
    sections = re.split(r"^## .*$", "\n".join(body), flags=re.M)[1:-1]
    for sec in sections:
        first = next(p for p in re.split(r"\n\s*\n", sec) if p.strip())
        assert "?" in first or "？" in first, f"{lang}: section opens without a question: {first[:80]!r}"


def test_model_keys_match_the_variable_keys():
    """Chapters spell model names with '_' in variables and '-' in demos; both come from one table."""
    tree = fake_var_tree(cifar=True)
    for spec in SPECS:
        assert key(spec.name) in tree["acc"]


def test_glaring_vars_quote_the_gallery_and_never_round_to_certainty():
    """{{ glaring.<model>.* }}: how many mistakes the gallery lists, its first and last confidence;
    a p < 1 never reads 100% (build.pct, like format.js) and a model without mistakes still builds."""
    from nnviz.build import pct
    assert [pct(0.99996, 2), pct(0.999654, 2), pct(1.0), pct(0.00001), pct(0.0)] == [">99.99%", "99.97%", "100.0%", "<0.1%", "0.0%"]
    entries = {"m": {"name": "m", "dataset": "mnist", "classes": [str(c) for c in range(10)], "test_accuracy": 0.9,
                     "train_accuracy": 0.9, "params": 7, "epochs": 1, "train_seconds": 1.0}}
    rows = [{"index": i, "true": 1, "pred": 2, "p_pred": p, "p_true": 0.0} for i, p in enumerate((0.999996, 0.97, 0.9612))]
    analysis = {"confusion": [[1] * 10] * 10, "recall": [0.9] * 10, "precision": [0.9] * 10,
                "mistakes": {"glaring": rows, "near": []}, "history": {"test_acc": []}}
    datasets = {"mnist": SimpleNamespace(y_train=[0], y_test=[0])}
    assert chapter_vars(entries, {"m": analysis}, datasets)["glaring"]["m"] == {"n": "3", "top": ">99.99%", "last": "96.12%"}
    analysis["mistakes"]["glaring"] = []
    assert chapter_vars(entries, {"m": analysis}, datasets)["glaring"]["m"]["n"] == "0"
