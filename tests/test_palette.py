"""src/nnviz/palette.py: the one palette, used by the PNG export and written as CSS for the browser."""
import re

import numpy as np

from nnviz import export, palette


def test_diverging_runs_from_negative_through_white_to_positive():
    w = np.array([-2.0, -1.0, 0.0, 1.0, 2.0])
    rgb = palette.diverging(w, scale=2.0)
    assert rgb.dtype == np.uint8 and rgb.shape == (5, 3)
    assert rgb[0].tolist() == list(palette.NEG) and rgb[2].tolist() == [255, 255, 255]
    assert rgb[4].tolist() == list(palette.POS)
    assert palette.diverging(np.array([5.0]), scale=1.0)[0].tolist() == list(palette.POS)   # clipped
    # the export paints weights with exactly these colours
    img = np.linspace(-1, 1, 784).reshape(28, 28)
    assert np.array_equal(export.diverging(img), palette.diverging(img))


def test_grey_maps_lowest_to_black_and_highest_to_white():
    g = palette.grey(np.array([3.0, 4.0, 5.0]))
    assert g.tolist() == [0, 128, 255]


def test_css_holds_every_stop_and_the_solid_colours_for_both_schemes():
    css = palette.css()
    stops = re.findall(r"--div-(\d): (#[0-9a-f]{6});", css)
    assert [int(k) for k, _ in stops] == list(range(9))
    assert stops[4][1] == "#ffffff" and stops[0][1] == "#0571b0" and stops[8][1] == "#ca0020"
    for k, c in stops:
        want = palette.DIVERGING[int(k)]
        assert [int(c[i:i + 2], 16) for i in (1, 3, 5)] == [int(round(v)) for v in want]
    light, dark = css.split("@media (prefers-color-scheme: dark)")
    assert f"--pos: {palette.SOLID['light']['pos']};" in light and f"--neg: {palette.SOLID['dark']['neg']};" in dark
    assert "--div-gradient: linear-gradient(" in css


def cie_lightness(rgb):
    """CIE L* of sRGB colours (an independent measure of how light a colour looks)."""
    c = np.asarray(rgb, float) / 255
    y = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4) @ [0.2126, 0.7152, 0.0722]
    f = np.where(y > (6 / 29) ** 3, np.cbrt(y), y / (3 * (6 / 29) ** 2) + 4 / 29)
    return 116 * f - 16


def test_diverging_steps_look_even_on_both_sides_of_zero():
    """Each stop is about as much lighter or darker than the next as any other (within 25%), so a
    weight of +0.2 looks as strong as one of -0.2 (the old RGB ramps differed by a factor of 2)."""
    steps = np.abs(np.diff(cie_lightness(palette.DIVERGING)))
    assert steps.max() / steps.min() < 1.25, steps
    lightness = cie_lightness(palette.DIVERGING)
    assert np.all(np.diff(lightness[:5]) > 0) and np.all(np.diff(lightness[4:]) < 0)
    assert abs(lightness[0] - lightness[8]) < 5.0            # the two ends about equally dark


def palette_colours():
    """The weight pictures' colour map as it would be copied: #rrggbb and 'r, g, b' of each coloured stop."""
    stops = [tuple(int(round(c)) for c in rgb) for rgb in palette.DIVERGING if tuple(np.round(rgb)) != (255, 255, 255)]
    hexes = [palette._hex(c) for c in stops]
    triplets = [", ".join(map(str, c)) for c in stops]
    return hexes, triplets


def test_no_demo_or_page_carries_its_own_copy_of_the_palette():
    """Changing the weights' colour map is src/nnviz/palette.py only: no demo, page template or browser file
    holds one of its colours, except as the stated fallback of the CSS variable it stands for."""
    hexes, triplets = palette_colours()
    pattern = re.compile("|".join([*map(re.escape, hexes), *(r"\b" + re.escape(t) + r"\b" for t in triplets)]), re.I)
    copies = []
    for top in ("demos", "static", "templates"):
        for path in sorted((export.Path(__file__).resolve().parents[1] / top).rglob("*")):
            if path.suffix not in (".js", ".css", ".html", ".py", ".toml"):
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                fallback = re.search(r"--(pos|neg|div-\d)\b|palette\.css missing", line)
                if pattern.search(line) and not fallback:
                    copies.append(f"{path.name}:{n}: {line.strip()[:90]}")
    assert not copies, "palette colours copied outside src/nnviz/palette.py:\n" + "\n".join(copies)
    assert pattern.search("stop-color=\"#0571b0\"") and pattern.search("[202, 0, 32]")   # what a copy looks like
