"""analyse.stroke_share: the measure behind the chapter's "how many first-layer neurons are strokes"."""
import numpy as np

from nnviz.analyse import stroke_share


def bar(row=14, cols=range(5, 20), value=-1.0):
    w = np.zeros((28, 28))
    w[row, list(cols)] = value
    return w.ravel()


def test_a_clean_bar_is_one_stroke_and_speckle_is_not():
    rng = np.random.default_rng(0)
    assert stroke_share(bar() + 0.05 * rng.standard_normal(784)) > 0.8
    assert stroke_share(rng.standard_normal(784)) < 0.1


def test_two_separate_bars_share_the_weight():
    two = bar(row=5) + bar(row=20)             # not 8-connected: the larger patch holds half
    assert abs(stroke_share(two) - 0.5) < 1e-9
    diagonal = np.zeros((28, 28))
    diagonal[np.arange(5, 20), np.arange(5, 20)] = 1.0    # diagonal neighbours are connected
    assert stroke_share(diagonal.ravel()) == 1.0


def test_sign_matters_and_blank_is_zero():
    mixed = bar(value=1.0) + bar(row=15, value=-1.0)   # adjacent rows of opposite sign are two patches
    assert abs(stroke_share(mixed) - 0.5) < 1e-9
    assert stroke_share(np.zeros(784)) == 0.0
