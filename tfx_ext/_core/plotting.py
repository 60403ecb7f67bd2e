"""Figures for the plot helpers, without pyplot's global state.

A `matplotlib.figure.Figure` made directly is not registered with pyplot, so
plotting in a loop leaves no figures open, and no GUI backend is needed.
"""


def new_axes(figsize, who):
    """A fresh `Axes` on its own `Figure`; `who` names the caller in the install hint."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:
        raise ImportError(f"{who} needs matplotlib: pip install 'tfx_ext[plot]'") from error
    return Figure(figsize=figsize).add_subplot()


def save(ax, path):
    if path is not None:
        ax.figure.savefig(path, bbox_inches="tight")
