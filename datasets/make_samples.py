"""Rebuild the sample datasets in this folder from the simulator.

Usage: ``python datasets/make_samples.py`` (from the repository root, with the
package installed). The output is the same byte for byte on every run with the
same library versions; ``tests/datasets/test_samples.py`` checks that the files
here are up to date with the simulator.
"""

from pathlib import Path

from behavemodel.datasets import make_samples

if __name__ == "__main__":
    for path in make_samples(Path(__file__).resolve().parent):
        size = sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
        print(f"{path.name}: {size / 1e6:.2f} MB")
