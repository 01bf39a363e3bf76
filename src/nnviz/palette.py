"""The one definition of the site's colour scales.

export.py paints the weight PNGs with these functions, and the build writes the same colours as
CSS custom properties (site/static/css/palette.css) that static/js/paint.js and every stylesheet
read, so a picture, a canvas and a legend bar cannot disagree.

    DIVERGING  9 stops from negative (stop 0) through zero (stop 4) to positive (stop 8)
    GREY       2 stops: lowest value black, highest white (ml4a's 1-layer templates)
    SOLID      --pos / --neg for marks and text, per colour scheme (they must read on the page)
"""
import numpy as np

NEG, ZERO, POS = (5, 113, 176), (255, 255, 255), (202, 0, 32)   # ColorBrewer RdBu's ends, white zero


def _ramp(a, b, n):
    """n colours from a to b inclusive, linear in RGB; (n, 3) floats."""
    return np.linspace(np.array(a, float), np.array(b, float), n)


DIVERGING = np.vstack([_ramp(NEG, ZERO, 5)[:-1], _ramp(ZERO, POS, 5)])   # (9, 3)
GREY = np.array([[0, 0, 0], [255, 255, 255]], float)
SOLID = {"light": {"pos": "#c0392b", "neg": "#1f6fb8"},
         "dark": {"pos": "#ff7a6b", "neg": "#62a8ff"}}


def interpolate(stops, t):
    """t: array in [0, 1] -> (..., 3) floats, piecewise linear over evenly spaced stops."""
    x = np.clip(np.asarray(t, float), 0.0, 1.0) * (len(stops) - 1)
    k = np.minimum(np.floor(x).astype(int), len(stops) - 2)
    f = (x - k)[..., None]
    return stops[k] * (1 - f) + stops[k + 1] * f


def diverging(w, scale=None):
    """w: array -> uint8 RGB (..., 3); 0 is the middle stop, ±scale (default max |w|) the ends."""
    scale = scale or float(np.abs(w).max()) or 1.0
    return np.round(interpolate(DIVERGING, (np.asarray(w) / scale + 1) / 2)).astype(np.uint8)


def grey(w):
    """w: array -> uint8 (same shape); lowest value black, highest white."""
    lo, hi = float(w.min()), float(w.max())
    return np.round(interpolate(GREY, (w - lo) / (hi - lo or 1.0))[..., 0]).astype(np.uint8)


def _hex(rgb):
    return "#" + "".join(f"{int(round(c)):02x}" for c in rgb)


def diverging_hex(v, scale):
    """One value's diverging colour as "#rrggbb" (for server-drawn marks: heat maps, legend stops)."""
    return _hex(diverging(np.array([float(v)]), scale)[0])


def css():
    """The palette as CSS custom properties (site/static/css/palette.css)."""
    stops = "".join(f"  --div-{k}: {_hex(c)};\n" for k, c in enumerate(DIVERGING))
    grey_stops = "".join(f"  --grey-{k}: {_hex(c)};\n" for k, c in enumerate(GREY))
    gradient = ", ".join(f"var(--div-{k})" for k in range(len(DIVERGING)))
    solid = {scheme: "".join(f"  --{k}: {v};\n" for k, v in s.items()) for scheme, s in SOLID.items()}
    return ("/* Written by the build from src/nnviz/palette.py: edit the colours there. */\n"
            f":root {{\n{stops}{grey_stops}  --div-gradient: linear-gradient(to right, {gradient});\n"
            f"{solid['light']}}}\n"
            f"@media (prefers-color-scheme: dark) {{\n  :root {{\n"
            + solid["dark"].replace("  --", "    --") + "  }\n}\n")
