"""Fetch, verify and cache the datasets: `python3 scripts/fetch_data.py [mnist fashion cifar10]`.

A thin wrapper over nnviz.data.main so a fresh clone can run it before installing the package.
"""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from nnviz.data import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
