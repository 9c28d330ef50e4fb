"""Plots for notebooks and reports (matplotlib, the ``behavemodel[plot]`` extra).

- :func:`learning_curve`: how one (group, feature) learned: distinct keys and
  the estimated novelty rate over time, the convergence threshold, the minimum
  span and the moment monitoring began. :func:`learning_curve_data` gives the
  numbers (computed from the model alone; see :mod:`behavemodel.plot._curve`
  for exactly how).
- :func:`alerts_over_time`: alerts per host and feature over time.
- :func:`baseline_overview`: a heat map of which groups share which network
  executables (:func:`baseline_matrix` gives the numbers).

Every plotting function takes ``ax=`` (a new figure when omitted) and returns
the Axes it drew on. matplotlib is imported on first use: without it, the data
functions work and the plots raise an ImportError naming ``behavemodel[plot]``.
Labels from the events (host names, paths) are escaped: control characters
shown as escapes, ``$`` never starts mathtext.

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> import matplotlib.pyplot as plt
>>> import pandas as pd
>>> from behavemodel import plot
>>> rows = pd.DataFrame({"time": pd.to_datetime(["2024-03-11T03:12Z"]),
...                      "host_name": ["worker-01"], "feature": ["NetworkProcesses"],
...                      "score": [1.0]})
>>> ax = plot.alerts_over_time(rows)
>>> ax.get_title()
'1 alert on 1 host (marker size: score)'
>>> plt.close(ax.figure)
"""

from behavemodel.plot._alerts import alerts_over_time
from behavemodel.plot._curve import CURVE_COLUMNS, learning_curve, learning_curve_data
from behavemodel.plot._overview import baseline_matrix, baseline_overview

__all__ = [
    "CURVE_COLUMNS",
    "alerts_over_time",
    "baseline_matrix",
    "baseline_overview",
    "learning_curve",
    "learning_curve_data",
]
