"""Draw the README's plot image from the bundled sample data.

Run from the repository root after changing the plots or the samples:

    .venv/bin/python docs/make_images.py

It writes ``docs/images/learning-and-alerts.png``: how the web group learned which
executables use the network, and the attack day's alerts per host and feature.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from behavemodel import BaselineDetector, plot
from behavemodel.datasets import load_sample

OUT = Path(__file__).resolve().parent / "images" / "learning-and-alerts.png"


def main() -> Path:
    week, day = load_sample("fleet-week"), load_sample("attack-day")
    model = BaselineDetector(groups=dict(week.host_groups)).fit(week.events)
    alerts = model.explain(day.events)
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(8.5, 6.6), layout="constrained", height_ratios=[1.1, 1]
    )
    plot.learning_curve(model, "web", "NetworkProcesses", ax=top)
    plot.alerts_over_time(alerts, ax=bottom)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(OUT, dpi=80, metadata={"Software": None})
    plt.close(fig)
    return OUT


if __name__ == "__main__":
    print(f"wrote {main()}")
