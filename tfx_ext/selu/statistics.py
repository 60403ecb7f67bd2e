"""Activation statistics: whether self-normalization holds, layer by layer."""

import dataclasses

import keras
import numpy as np

from tfx_ext._core.arguments import check_data, invalid
from tfx_ext._core.model_graphs import WEIGHTED_LAYERS, check_graph_model


def model_inputs(model):
    """`model.inputs`, or its one input alone (what `keras.Model(inputs, ...)` takes)."""
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


@dataclasses.dataclass
class LayerStatistics:
    """Mean and std of one layer's activations (from `activation_statistics`).

    Attributes:
        name: The layer's name.
        mean: Mean of its outputs over the batch and features.
        std: Standard deviation of its outputs over the batch and features.
    """

    name: str
    mean: float
    std: float


def activation_statistics(model, x, layer_types=None):
    """Mean and std of each layer's activations over a batch, in order.

    With self-normalization, every hidden layer's activations keep mean near 0
    and std near 1; otherwise they drift, vanish or explode with depth.

    Args:
        model: A Sequential or functional model.
        x: An input batch.
        layer_types: Which layers to report; defaults to the weighted layers
            (Dense, EinsumDense, convolutions).

    Returns:
        A list of `LayerStatistics(name, mean, std)`.

    Raises:
        TypeError: `model` is not a `keras.Model` or `x` not numeric.
        ValueError: `model` is subclassed, `x` is empty, not finite or of
            the wrong example shape, or no layer is of `layer_types`.

    Example:

    >>> for s in activation_statistics(model, x_train[:500]):
    ...     print(s.name, round(s.mean, 2), round(s.std, 2))
    """
    check_graph_model("model", model, "activation_statistics")
    x = check_data(
        "x", x, example_shape=tuple(model.inputs[0].shape[1:]) if len(model.inputs) == 1 else None
    )
    layer_types = layer_types or WEIGHTED_LAYERS
    chosen = [l for l in model.layers if isinstance(l, layer_types)]
    if not chosen:
        raise invalid("layer_types", "layer types present in the model", layer_types)
    probe = keras.Model(model_inputs(model), [l.output for l in chosen])
    outputs = probe(np.asarray(x), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    stats = []
    for layer, output in zip(chosen, outputs):
        values = keras.ops.convert_to_numpy(output)
        stats.append(LayerStatistics(layer.name, float(values.mean()), float(values.std())))
    return stats
