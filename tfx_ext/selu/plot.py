"""The plot of activation statistics (matplotlib, optional)."""

import numpy as np

from tfx_ext._core.arguments import invalid
from tfx_ext._core.plotting import new_axes, save
from tfx_ext.selu.statistics import LayerStatistics


def plot_activation_statistics(statistics, path=None, ax=None, label=None):
    """Plots the mean and std of activations against depth (needs matplotlib).

    Args:
        statistics: The list returned by `activation_statistics`.
        path: Where to save the figure (PNG), or `None`.
        ax: A matplotlib `Axes` to draw on; a new figure when `None`.
        label: Prefix of the legend entries (to compare several models).

    Returns:
        The matplotlib `Axes`.

    Raises:
        ValueError: `statistics` is empty or not a list of `LayerStatistics`.

    Example:

    >>> ax = plot_activation_statistics(activation_statistics(model, x), label="SELU")
    """
    if (
        not isinstance(statistics, (list, tuple))
        or not statistics
        or not all(isinstance(s, LayerStatistics) for s in statistics)
    ):
        raise invalid(
            "statistics",
            "a non-empty list of LayerStatistics (from activation_statistics)",
            statistics,
        )
    if ax is None:
        ax = new_axes((7, 4), "plot_activation_statistics")
    depth = np.arange(1, len(statistics) + 1)
    prefix = f"{label} " if label else ""
    ax.plot(depth, [s.std for s in statistics], label=f"{prefix}std")
    ax.plot(depth, [s.mean for s in statistics], linestyle="--", label=f"{prefix}mean")
    ax.axhline(1.0, color="k", linewidth=0.5)
    ax.axhline(0.0, color="k", linewidth=0.5)
    ax.set_xlabel("layer")
    ax.set_ylabel("activation statistic")
    ax.legend()
    save(ax, path)
    return ax
