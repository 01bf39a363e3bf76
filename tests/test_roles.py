"""Roles derived, not listed: which models show test images comes from the chapters' demo lines,
accuracy targets and comparisons are fields of the model table (nnviz.specs), and neither changes
what a model is (its cache key, its exported file)."""
from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest

from nnviz import cache, export, specs
from nnviz.specs import SPECS, Spec, SpecError
import test_build
from test_build import EN, SPECS as TINY, ZH, make_root, tiny_build

REPO = Path(__file__).resolve().parents[1]


def test_roles_never_change_a_model_key():
    spec = specs.BY_NAME["mnist-h10"]
    assert spec.target and spec.compare_to       # the table gives it both roles
    bare = dataclasses.replace(spec, target=None, compare_to="")
    assert spec.as_dict() == bare.as_dict()
    assert cache.cache_key(spec, "digest") == cache.cache_key(bare, "digest")
    assert not set(specs.ROLES) & set(spec.as_dict())
    assert cache.cache_key(dataclasses.replace(spec, l2=0.5), "digest") != cache.cache_key(spec, "digest")


def test_the_table_is_checked():
    with pytest.raises(SpecError, match=r"mnist-x: compare_to='mnist-y' is not a model of the table"):
        specs.check_table([Spec("mnist-x", "mnist", compare_to="mnist-y")])
    with pytest.raises(SpecError, match="mnist-x is defined twice"):
        specs.check_table([Spec("mnist-x", "mnist"), Spec("mnist-x", "mnist", (10,))])


def readme_targets():
    """{model: target or None} from the README's accuracy table ('| model | layers | test | target |')."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| ([a-z0-9][a-z0-9, -]*[a-z0-9]) \|[^|\n]*\|[^|\n]*\|([^|\n]*)\|", text, re.M)
    out = {}
    for names, target in rows:
        names = names.split(", ")
        values = [float(v) / 100 for v in re.findall(r"≥ ([\d.]+)%", target)] or [None] * len(names)
        out.update(zip(names, values))
    return out


def test_readme_targets_are_the_specs_targets():
    table = readme_targets()
    assert "mnist-h30" in table and "cifar-h100" in table, "the README's accuracy table was not found"
    for s in SPECS:
        if s.name in table:
            assert table[s.name] == pytest.approx(s.target) if s.target else table[s.name] is None, s.name
        else:
            assert s.target is None, f"{s.name} has a target but no row in the README's table"


def shown(site, model, dataset="mnist"):
    """(has cell means, every test image its analysis shows is in the dataset's sprite)."""
    analysis = json.loads((site / "data" / model / "analysis.json").read_text())
    sprite = set(json.loads((site / "data" / dataset / "samples.json").read_text())["index"])
    return (site / "data" / model / "cell-means.png").is_file(), export.referenced(analysis) <= sprite


def test_a_model_shows_test_images_with_a_spec_and_one_chapter_line(tmp_path, monkeypatch):
    """A new model in the table is trained and exported, but its test images only once a chapter
    line names it in a demo that shows them; no other file changes."""
    monkeypatch.setattr(test_build, "N_TEST", 2000)    # more test images than the 300 random ones
    new = Spec("tiny-h4", "mnist", (4,), epochs=3, lr=5e-3, batch=64)
    cached = tmp_path / "cache"
    before = make_root(tmp_path / "before")
    tiny_build(tmp_path / "site1", before, cached, runtime=False, specs=[*TINY, new])
    assert shown(tmp_path / "site1", "tiny-softmax") == (True, True)      # the chapter's confusion demo
    assert shown(tmp_path / "site1", "tiny-h4") == (False, False)          # in the table, in no such demo
    assert shown(tmp_path / "site1", "tiny-h8") == (False, False)          # only in the drawing lab
    after = make_root(tmp_path / "after", {"en/tiny.md": EN, "zh/tiny.md": ZH + "\n::: demo mistakes model=tiny-h4\n"})
    tiny_build(tmp_path / "site2", after, cached, runtime=False, specs=[*TINY, new])
    assert shown(tmp_path / "site2", "tiny-h4") == (True, True)
    assert shown(tmp_path / "site2", "tiny-h8") == (False, False)


def test_demo_lines_inside_code_fences_do_not_count(tmp_path):
    fenced = EN + "\n```\n::: demo confusion model=tiny-h8\n```\n"
    root = make_root(tmp_path, {"en/tiny.md": fenced, "zh/tiny.md": ZH})
    from nnviz.build import shown_models
    assert shown_models(root) == {"tiny-softmax"}


def test_compare_to_makes_the_comparison(tmp_path):
    """The pair the diffmatrix demo shows comes from Spec.compare_to (no second list in build.py)."""
    pair = [dataclasses.replace(TINY[1], compare_to="tiny-softmax"), TINY[0], TINY[2]]
    ctx, _ = tiny_build(tmp_path / "site", make_root(tmp_path), tmp_path / "cache", runtime=False, specs=pair)
    assert (ctx["data"]["compare"]["a"], ctx["data"]["compare"]["b"]) == ("tiny-softmax", "tiny-h8")
    assert [p.name for p in (tmp_path / "site" / "data" / "compare").iterdir()] == ["tiny-softmax__tiny-h8.json"]
    ctx, _ = tiny_build(tmp_path / "site", make_root(tmp_path / "none"), tmp_path / "cache", runtime=False)
    assert ctx["data"]["compare"] == {} and not (tmp_path / "site" / "data" / "compare").exists()
