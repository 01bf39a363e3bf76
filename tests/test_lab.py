"""The training lab in CPython: nnviz.lab, demos/train/adapter.py (what the worker runs) and labdata
(the build's export and runs). The browser side is tests/browser/test_train_lab.py."""
import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

from nnviz import lab, labdata
from nnviz import train as tr

REPO = Path(__file__).resolve().parents[1]


def load_adapter():
    spec = importlib.util.spec_from_file_location("nnviz_demo_train", REPO / "demos" / "train" / "adapter.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class Digits:
    """A small MNIST-shaped dataset: each class a blob at its own place, plus noise."""
    name = "mnist"

    def __init__(self, n=1200, m=300, seed=0):
        rng = np.random.default_rng(seed)
        yy, xx = np.mgrid[:28, :28]
        centres = [(6 + 4 * (k % 4), 6 + 5 * (k // 4)) for k in range(10)]
        def images(count):
            y = rng.integers(0, 10, count)
            x = np.stack([np.exp(-((yy - centres[k][0]) ** 2 + (xx - centres[k][1]) ** 2) / 18.0) for k in y])
            x = np.clip(255 * x + rng.normal(0, 20, x.shape), 0, 255).astype(np.uint8)
            x[:, :3] = 0                                    # a blank border row, as in MNIST
            return x, y.astype(np.uint8)
        self.x_train, self.y_train = images(n)
        self.x_test, self.y_test = images(m)


@pytest.fixture(scope="module")
def subset():
    return labdata.subset(Digits())


def test_subset_is_seeded_uint8_and_unpacks_to_the_chosen_images(subset):
    blob, man = subset
    ds = Digits()
    again, man2 = labdata.subset(ds)
    assert blob == again and man == man2
    assert man["train"] == 1200 and man["test"] == 300 and man["pixels"] == 784
    assert man["bytes"] == len(blob) == 1200 * 785 + 300 * 785
    assert man["sha256"] == hashlib.sha256(blob).hexdigest()
    x, y, xt, yt = lab.unpack(blob, man)
    assert x.dtype == np.uint8 and x.shape == (1200, 784)
    assert np.array_equal(x, ds.x_train[man["train_index"]].reshape(1200, 784))
    assert np.array_equal(yt, ds.y_test[man["test_index"]])
    assert sorted(man["train_index"]) != man["train_index"]        # random order: first n is a fair sample


def test_unpack_names_the_size_it_expected(subset):
    blob, man = subset
    with pytest.raises(ValueError, match=r"lab data: 99 bytes, expected 1177500"):
        lab.unpack(blob[:99], man)


def test_options_are_checked():
    with pytest.raises(ValueError, match="hidden=20"):
        lab.options({"hidden": 20})
    with pytest.raises(ValueError, match="unknown lab option 'colour'"):
        lab.options({"colour": 1})
    with pytest.raises(ValueError, match="size=7"):
        lab.options({"size": 7})


def test_scrambled_softmax_learns_the_permuted_templates(subset):
    """Zero init, no hidden layer: permuting the inputs permutes the whole run, so the unscrambled
    weights equal the plain run's (to rounding) and the accuracies agree."""
    data = lab.unpack(*subset)
    plain = lab.Lab(data, {"size": 1000})
    mixed = lab.Lab(data, {"size": 1000, "scramble": True})
    for _ in range(2):
        plain.run.run_epoch()
        mixed.run.run_epoch()
    assert np.allclose(mixed.first_layer(unscramble=True), plain.first_layer(), atol=1e-9)
    assert not np.allclose(mixed.first_layer(unscramble=False), plain.first_layer(), atol=1e-3)
    assert abs(plain.test_accuracy() - mixed.test_accuracy()) <= 1 / 300


def test_lab_history_per_epoch_and_learning(subset):
    run = lab.Lab(lab.unpack(*subset), {"size": 1000, "lr": 3e-3})
    while not run.step(7):
        pass
    h = run.history
    assert h["epoch"] == [1] and h["images"] == [1000] and run.run.seen == 1000 and run.run.steps == 20
    run.step(100)
    assert h["epoch"] == [1, 2] and len(h["test_acc"]) == 2
    assert h["test_acc"][-1] > 0.9 and h["train_loss"][-1] < h["train_loss"][0]


def test_size_takes_the_first_n_images(subset):
    data = lab.unpack(*subset)
    small = lab.Lab(data, {"size": 100})
    assert np.array_equal(small.x, data[0][:100] / 255.0) and len(small.y) == 100


def test_roughness_tells_speckle_from_smooth():
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[:28, :28]
    smooth = np.exp(-((yy - 14) ** 2 + (xx - 14) ** 2) / 50.0).reshape(1, -1)
    noise = rng.standard_normal((1, 784))
    assert lab.roughness(smooth) < 0.2 < 1.0 < lab.roughness(noise)


def test_adapter_runs_two_labs_apart_and_checks_its_data(subset):
    blob, man = subset
    ad = load_adapter()
    with pytest.raises(ValueError, match="sha256"):
        ad.load(blob[:-1] + b"\x01", man)
    assert ad.load(memoryview(blob), man) == {"train": 1200, "test": 300, "sizes": [100, 1000, 5000]}
    a = ad.reset("demo-1", {"hidden": 0, "size": 100})
    b = ad.reset("demo-2", {"hidden": 10, "size": 1000})
    assert np.shape(a["w"]) == (10, 784) and np.shape(b["w"]) == (10, 784) and a["batches"] == 2
    ad.step("demo-1", 5)
    v = ad.step("demo-2", 1)
    assert v["steps"] == 1 and v["epoch"] == 0 and not v["epoch_done"]
    assert ad.view("demo-1")["epoch"] == 1
    with pytest.raises(ValueError, match="no training run 'demo-9'"):
        ad.step("demo-9", 1)
    # the run is the Trainer the site's models use, replayed exactly
    ref = tr.Trainer(lab.config(lab.options({"size": 100})), lab.unpack(blob, man)[0][:100] / 255.0,
                     lab.unpack(blob, man)[1][:100], dtype=np.float64)
    ref.step(2)
    assert np.array_equal(ad.weights("demo-1")["weights"][0], ref.weights[0])
    ex = ad.scrambled_example(0)
    assert sorted(ex["plain"]) == sorted(ex["scrambled"]) and not np.array_equal(ex["plain"], ex["scrambled"])


def test_experiments_are_cached_and_give_the_chapter_vars(subset, tmp_path, monkeypatch):
    monkeypatch.setattr(labdata, "EPOCHS", 2)
    monkeypatch.setitem(labdata.L2_RUN, "epochs", 2)
    blob, man = subset
    calls = []
    r1 = labdata.experiments(blob, man, tmp_path, progress=calls.append)
    r2 = labdata.experiments(blob, man, tmp_path, progress=calls.append)
    assert r1 == r2 and len(calls) == 1 and len(list((tmp_path / "lab").iterdir())) == 1
    v = labdata.chapter_vars(r1, man)
    assert v["acc"] == f"{100 * r1['base']['test_acc'][-1]:.1f}%" and v["train"] == "1,200"
    assert float(v["scramble_diff"]) <= 0.5 and v["unscrambled_corr"] == "1.0000"
    assert (v["early_a_images"], v["early_c_images"]) == ("100", "1,000")
    labdata.export(tmp_path / "site", blob, man)
    assert (tmp_path / "site" / "data" / "train" / "mnist.bin").read_bytes() == blob
    assert json.loads((tmp_path / "site" / "data" / "train" / "mnist.json").read_text())["sha256"] == man["sha256"]
