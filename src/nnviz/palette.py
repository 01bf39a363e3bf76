"""The one definition of the site's colour scales.

export.py paints the weight PNGs with these functions, and the build writes the same colours as
CSS custom properties (site/static/css/palette.css) that static/js/paint.js and every stylesheet
read, so a picture, a canvas and a legend bar cannot disagree.

    DIVERGING  9 stops from negative (stop 0) through zero (stop 4) to positive (stop 8)
    GREY       2 stops: lowest value black, highest white (ml4a's 1-layer templates)
    SOLID      --pos / --neg for marks and text, per colour scheme (they must read on the page)
    CATEGORY   10 colours for the 10 classes (--cat-0 … --cat-9), one set per colour scheme: the
               representation map colours its points and decision regions with them
"""
import numpy as np

NEG, ZERO, POS = (5, 113, 176), (255, 255, 255), (202, 0, 32)   # ColorBrewer RdBu's ends, white zero


# OKLab (Björn Ottosson, 2020): a colour space in which equal steps look equally different, so
# the stops below change lightness evenly on both sides of zero (linear RGB ramps do not: the red
# side darkened twice as fast near zero as near its end, making small positive weights look big).
_M1 = np.array([[0.4122214708, 0.5363325363, 0.0514459929], [0.2119034982, 0.6806995451, 0.1073969566],
                [0.0883024619, 0.2817188376, 0.6299787005]])
_M2 = np.array([[0.2104542553, 0.7936177850, -0.0040720468], [1.9779984951, -2.4285922050, 0.4505937099],
                [0.0259040371, 0.7827717662, -0.8086757660]])


def _to_oklab(rgb):
    c = np.asarray(rgb, float) / 255.0
    lin = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return np.cbrt(lin @ _M1.T) @ _M2.T


def _from_oklab(lab):
    lin = (lab @ np.linalg.inv(_M2).T) ** 3 @ np.linalg.inv(_M1).T
    c = np.where(lin <= 0.0031308, 12.92 * lin, 1.055 * np.power(np.maximum(lin, 0.0), 1 / 2.4) - 0.055)
    return np.clip(255.0 * c, 0.0, 255.0)


def _ramp(a, b, n):
    """n colours from a to b inclusive, evenly spaced in OKLab; (n, 3) floats (exact ends)."""
    out = _from_oklab(np.linspace(_to_oklab(a), _to_oklab(b), n))
    out[0], out[-1] = a, b
    return out


DIVERGING = np.vstack([_ramp(NEG, ZERO, 5)[:-1], _ramp(ZERO, POS, 5)])   # (9, 3)
GREY = np.array([[0, 0, 0], [255, 255, 255]], float)
SOLID = {"light": {"pos": "#c0392b", "neg": "#1f6fb8"},
         "dark": {"pos": "#ff7a6b", "neg": "#62a8ff"}}
REGION_TINT = 0.3    # a decision region is its class colour at this strength over the page colour
# Tableau's 10 categorical hues, each darkened (light page) or lightened (dark page) just enough
# for 3:1 contrast with the page, WCAG's minimum for graphics: small dots must stay visible.
CATEGORY = {"light": ("#1f77b4", "#e6720d", "#2ca02c", "#d62728", "#9467bd",
                      "#8c564b", "#d570b6", "#7f7f7f", "#96971b", "#13a0ae"),
            "dark": ("#5aa6e8", "#ffa04d", "#5fd35f", "#ff6b6b", "#c39cf0",
                     "#c8937f", "#f5a3dc", "#b5b5b5", "#dcdc4a", "#4fdff0")}


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
    solid = {scheme: "".join(f"  --{k}: {v};\n" for k, v in s.items())
             + "".join(f"  --cat-{k}: {c};\n" for k, c in enumerate(CATEGORY[scheme]))
             for scheme, s in SOLID.items()}
    return ("/* Written by the build from src/nnviz/palette.py: edit the colours there. */\n"
            f":root {{\n{stops}{grey_stops}  --div-gradient: linear-gradient(to right, {gradient});\n"
            f"  --region-tint: {REGION_TINT};\n{solid['light']}}}\n"
            f"@media (prefers-color-scheme: dark) {{\n  :root {{\n"
            + solid["dark"].replace("  --", "    --") + "  }\n}\n")
