"""Published numbers the chapters compare with: each typed once, here, with its source.

These are facts from other people's work (see the chapters' further reading), not results of this
build. The chapters quote them as {{ cited.<key>.h<N> }} and the sweep chart draws them as a
second series (`::: demo sweep cited=<key>`), so the text and the figure cannot disagree.
"""
from __future__ import annotations

CITED = {
    # Nityesh Agarwal, "What does a neural network even learn? A newcomer's dilemma" (2018):
    # test accuracy of a 784-h-10 MNIST network against its hidden-layer size h.
    "agarwal-sweep": {
        "author": "Nityesh Agarwal",
        "year": 2018,
        "url": "https://nityesh.com/wth-does-a-neural-network-learn/",
        "accuracy": {2: 0.2280, 3: 0.5875, 4: 0.8373, 5: 0.8665, 10: 0.9343},
    },
}


def chapter_vars():
    """{{ cited.agarwal_sweep.h5 }} -> "86.65%" (two decimals, as published)."""
    return {key.replace("-", "_"): {f"h{h}": f"{100 * a:.2f}%" for h, a in fact["accuracy"].items()}
            for key, fact in CITED.items()}
