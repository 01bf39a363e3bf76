"""The CIFAR-10 path end to end on the full-size generated archive (tests/cifar_fixture.py): data
cache, cifar-softmax and cifar-h100 trained (test-only epochs; the real table is untouched),
analysed, exported and rendered into the real chapter's CIFAR passages in both languages. Also the
other side: a site built without the archive reads correctly, and the measured "blue border" rule.
Generated pictures: no accuracy here is a result about CIFAR-10."""
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from nnviz import build, cifar, data

import cifar_fixture as cf

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cifar_site(tmp_path_factory):
    out = tmp_path_factory.mktemp("cifar") / "site"
    logs = []
    context = cf.build_site(out, runtime=False, progress=logs.append)   # the browser tests build with it
    return out, context, logs


def page(out, lang):
    return (out / lang / "cifar.html").read_text(encoding="utf-8")


def test_data_cache_and_models(cifar_site):
    out, context, logs = cifar_site
    folder, _ = cf.full_archive()
    assert (folder / "cache" / "data" / "cifar10.npz").is_file()       # beside the archive, not ~/.cache
    assert cifar.MD5 == "c58f30108f718f92721af3b95e74349a"         # the pin is back for real builds
    assert not [line for line in logs if line.startswith("NOTICE")]
    models = {e["name"]: e for e in json.loads((out / "data" / "models.json").read_text())}
    assert models["cifar-softmax"]["layers"] == [3072, 10] and models["cifar-h100"]["layers"] == [3072, 100, 10]
    assert models["cifar-softmax"]["classes"] == list(data.CLASSES["cifar10"])
    for name in models:
        assert (out / "data" / "models" / f"{name}.npz").is_file()
    assert context["data"]["datasets"]["cifar10"] == {"classes": list(data.CLASSES["cifar10"]),
                                                      "train": 50000, "test": 10000}


def test_rgb_pictures(cifar_site):
    out, _, _ = cifar_site
    for model, units in (("cifar-softmax", 10), ("cifar-h100", 100)):
        for k in range(units):
            img = Image.open(out / "data" / model / "w1" / f"{k}.png")
            assert img.size == (32, 32) and img.mode == "RGB"
    meta = json.loads((out / "data" / "cifar10" / "samples.json").read_text())
    assert meta["tile"] == 32 and meta["channels"] == 3 and len(meta["random"]) == 300
    sheet = np.asarray(Image.open(out / "data" / "cifar10" / "samples.png"))
    assert sheet.ndim == 3 and sheet.shape[2] == 3
    ds = cf.full_dataset()   # the sprite holds the test photos' exact bytes, in the listed order
    assert np.array_equal(sheet[:32, 32:64], ds.x_test[meta["index"][1]])


def test_templates_follow_the_input_order():
    """A weight vector made from a photo by train.flatten (the models' input order) is drawn as
    that photo: weight 3*(32*row + col) + channel is pixel (row, col)'s red, green or blue."""
    from nnviz.export import rgb_template
    from nnviz.train import flatten
    photo = np.zeros((1, 32, 32, 3), np.uint8)
    photo[0, 1, 2] = (0, 0, 255)           # one blue pixel
    photo[0, 30, 5] = (255, 0, 0)          # one red pixel
    img = rgb_template(flatten(photo)[0])
    assert img[1, 2].tolist() == [0, 0, 255] and img[30, 5].tolist() == [255, 0, 0]
    assert img.sum() == 2 * 255


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_cifar_section_is_rendered(cifar_site, lang):
    out, context, _ = cifar_site
    html = page(out, lang)
    v = context["vars"]
    for marker in ('data-demo="samples" data-dataset="cifar10"', 'data-demo="templates" data-live-demo="templates" data-model="cifar-softmax"',
                   'data-model="cifar-softmax"', 'data-demo="hidden" data-model="cifar-h100"'):
        assert marker in html
    assert 'class="demo-confusion' in html or "demo-confusion" in html
    for number in (v["acc"]["cifar_softmax"], v["acc"]["cifar_h100"], v["params"]["cifar_h100"],
                   v["n"]["cifar10_train"], v["worst"]["cifar_softmax"]["count"]):
        assert number in html
    assert "CIFAR-10 is not part of this build" not in html and "本次构建没有 CIFAR-10" not in html
    assert "nv-samples-missing" not in html
    blue = v["blue"]["cifar_softmax"]
    sentence = f"{blue['airplane']} of the airplane" if lang == "en" else f"蓝色占飞机模板颜色的 {blue['airplane']}"
    assert (sentence in html) == context["facts"]["cifar-blue-border"] == (blue["holds"] == "yes")


def test_hidden_demo_shows_the_strongest_units(cifar_site):
    out, context, _ = cifar_site
    html = page(out, "en")
    ow = np.array(context["data"]["analysis"]["cifar-h100"]["out_weights"])
    strongest = sorted(np.argsort(-np.abs(ow).sum(1), kind="stable")[:20].tolist())
    shown = [int(s.split('"')[0]) - 1 for s in html.split('data-name="h')[1:]]
    assert shown == strongest


def test_blue_border_rule():
    """holds = airplane and ship have the two bluest borders of the ten templates."""
    classes = data.CLASSES["cifar10"]
    shares = [0.45, 0.3, 0.35, 0.3, 0.3, 0.3, 0.3, 0.3, 0.5, 0.33]
    v = build.blue_border_vars(shares, classes)
    assert v["holds"] == "yes" and v["airplane"] == "45%" and v["ship"] == "50%" and v["others"] == "31%"
    shares[2] = 0.47   # a bird bluer than the airplane: the sentence would not be true
    assert build.blue_border_vars(shares, classes)["holds"] == "no"
    assert build.facts({}) == {"cifar-blue-border": False}   # defined without CIFAR too


def test_border_blue_measures_the_ring():
    from nnviz.analyse import border_blue
    w = np.zeros((32, 32, 3))
    w[:, :, 2] = 1.0
    w[4:-4, 4:-4] = (1.0, 0, 0)           # red centre, blue ring
    assert border_blue(w.reshape(-1)) == 1.0
    w[:, :, :] = w[:, :, ::-1]            # blue centre, red ring
    assert border_blue(w.reshape(-1)) == 0.0


def test_the_built_site_reads_correctly_with_or_without_cifar(site_dir):
    """The site `make test` builds (here: without the archive) shows the CIFAR passages'
    alternative, a note citing ml4a's 37%, and no CIFAR figure; with the archive, no note."""
    with_cifar = any(e["dataset"] == "cifar10" for e in json.loads((site_dir / "data" / "models.json").read_text()))
    for lang, note in (("en", "CIFAR-10 is not part of this build"), ("zh", "本次构建没有 CIFAR-10")):
        html = (site_dir / lang / "looking-inside.html").read_text(encoding="utf-8")
        assert html.count(note) == (0 if with_cifar else 1)
        assert ('data-dataset="cifar10"' in html) == ('data-model="cifar-h100"' in html) == with_cifar
        assert "37%" in html                   # ml4a's figure, cited either way


def test_fact_passages(tmp_path):
    """`::: if fact=NAME` shows its passage when the build measured the fact, else the alternative;
    an unknown fact is a file:line error naming the known ones."""
    from test_render import CONTEXT, broken, build as render_tree, with_line, OK
    text = OK + "\n::: if fact=cifar-blue-border\nBLUE\n::: else\nPLAIN\n:::\n"
    for holds, shown, hidden in ((True, "BLUE", "PLAIN"), (False, "PLAIN", "BLUE")):
        out = tmp_path / str(holds)
        render_tree(out, {"en/ok.md": text}, context={**CONTEXT, "facts": {"cifar-blue-border": holds}})
        html = next(out.rglob("ok.html")).read_text(encoding="utf-8")
        assert shown in html and hidden not in html
    msg = broken(tmp_path / "bad", with_line(OK, 6, "::: if fact=cifar-blue\nx\n:::"),
                 context={**CONTEXT, "facts": {"cifar-blue-border": True}})
    assert msg.startswith("chapters/en/bad.md:6: unknown fact 'cifar-blue'") and "cifar-blue-border" in msg
