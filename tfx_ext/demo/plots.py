"""The demo's figures, drawn from the stages' results through `tfx_ext._core.plotting`.

Labels never overlap: bars with long names are horizontal.
"""

import numpy as np

from tfx_ext._core.plotting import new_axes, save


def _axes(size):
    return new_axes(size, "the demo plots")


def lr_finder(path, trained):
    trained.finder.plot(path)


def reliability(path, uncertainty):
    from tfx_ext.uncertainty import reliability_diagram

    ax = reliability_diagram(uncertainty.labels, uncertainty.single, label="one pass")
    reliability_diagram(
        uncertainty.labels,
        uncertainty.prediction.mean,
        ax=ax,
        label=f"MC x{uncertainty.samples}",
        path=path,
    )


def sparsity(path, pruned):
    layers = pruned.report.layers
    ax = _axes((6, 3))
    ax.bar([layer.name for layer in layers], [layer.sparsity for layer in layers])
    ax.set_ylabel("sparsity")
    ax.set_ylim(0, 1)
    ax.set_title("sparsity per layer")
    save(ax, path)


def sizes(path, tflite):
    reports = tflite.reports
    labels = list(reports)
    ax = _axes((7, 0.6 * len(labels) + 1))
    rows = np.arange(len(labels))
    ax.barh(
        rows - 0.2, [reports[label].raw_bytes / 1024 for label in labels], height=0.4, label="raw"
    )
    ax.barh(
        rows + 0.2, [reports[label].gzip_bytes / 1024 for label in labels], height=0.4, label="gzip"
    )
    ax.set_yticks(rows, labels)
    ax.invert_yaxis()
    ax.set_xlabel("KiB")
    ax.set_title("TFLite file size")
    ax.legend(loc="lower right")
    save(ax, path)


def draw_all(path, trained, uncertainty, pruned, tflite):
    """Draws every plot; returns the file names drawn (none without matplotlib)."""
    drawn = []
    for name, draw, result in (
        ("lr_finder.png", lr_finder, trained),
        ("reliability.png", reliability, uncertainty),
        ("sparsity.png", sparsity, pruned),
        ("sizes.png", sizes, tflite),
    ):
        try:
            draw(path(name), result)
        except ImportError:
            continue
        drawn.append(name)
    return drawn
