"""Which layers can be pruned and which of their weights: tfmot's registry, for Keras 3.

The registry lists Keras's own layers; any other layer (tfx_ext's included)
is prunable by implementing `get_prunable_weights()` (`PrunableLayer`).
"""

import keras

from tfx_ext._core.arguments import invalid
from tfx_ext._core.protocols import Prunable, PrunableLayer  # noqa: F401  (PrunableLayer: public here)

_RNN_CELL_WEIGHTS = ("kernel", "recurrent_kernel")

# Which weights of each built-in layer are pruned, as attribute paths; the
# same choice as tfmot's PruneRegistry (SeparableConv: the pointwise kernel
# only; DepthwiseConv: nothing, its few weights matter too much).
PRUNABLE_WEIGHTS = (
    (keras.layers.SeparableConv1D, ("pointwise_kernel",)),
    (keras.layers.SeparableConv2D, ("pointwise_kernel",)),
    (keras.layers.DepthwiseConv1D, ()),
    (keras.layers.DepthwiseConv2D, ()),
    (keras.layers.Conv1DTranspose, ("kernel",)),
    (keras.layers.Conv2DTranspose, ("kernel",)),
    (keras.layers.Conv3DTranspose, ("kernel",)),
    (keras.layers.Conv1D, ("kernel",)),
    (keras.layers.Conv2D, ("kernel",)),
    (keras.layers.Conv3D, ("kernel",)),
    (keras.layers.Dense, ("kernel",)),
    (keras.layers.EinsumDense, ("kernel",)),
    (keras.layers.Embedding, ("embeddings",)),
    (keras.layers.SimpleRNNCell, _RNN_CELL_WEIGHTS),
    (keras.layers.LSTMCell, _RNN_CELL_WEIGHTS),
    (keras.layers.GRUCell, _RNN_CELL_WEIGHTS),
    (
        keras.layers.MultiHeadAttention,
        ("_query_dense.kernel", "_key_dense.kernel", "_value_dense.kernel", "_output_dense.kernel"),
    ),
)

# Layers tfmot accepts in a wrapper although they have nothing to prune.
WEIGHTLESS_LAYERS = (
    keras.layers.Activation,
    keras.layers.ActivityRegularization,
    keras.layers.AlphaDropout,
    keras.layers.BatchNormalization,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
    keras.layers.Dropout,
    keras.layers.ELU,
    keras.layers.Flatten,
    keras.layers.GaussianDropout,
    keras.layers.GaussianNoise,
    keras.layers.Lambda,
    keras.layers.LayerNormalization,
    keras.layers.LeakyReLU,
    keras.layers.Masking,
    keras.layers.Permute,
    keras.layers.ReLU,
    keras.layers.RepeatVector,
    keras.layers.Reshape,
    keras.layers.Softmax,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
    keras.layers.UpSampling1D,
    keras.layers.UpSampling2D,
    keras.layers.UpSampling3D,
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.ZeroPadding3D,
    keras.layers.Add,
    keras.layers.Average,
    keras.layers.Concatenate,
    keras.layers.Dot,
    keras.layers.Maximum,
    keras.layers.Minimum,
    keras.layers.Multiply,
    keras.layers.Subtract,
    keras.layers.AveragePooling1D,
    keras.layers.AveragePooling2D,
    keras.layers.AveragePooling3D,
    keras.layers.MaxPooling1D,
    keras.layers.MaxPooling2D,
    keras.layers.MaxPooling3D,
    keras.layers.GlobalAveragePooling1D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalAveragePooling3D,
    keras.layers.GlobalMaxPooling1D,
    keras.layers.GlobalMaxPooling2D,
    keras.layers.GlobalMaxPooling3D,
)


def _weight_paths(layer):
    for cls, paths in PRUNABLE_WEIGHTS:
        if isinstance(layer, cls):
            return paths
    return None


def _rnn_cells(layer):
    if not isinstance(layer, keras.layers.RNN):
        return None
    cell = layer.cell
    return list(cell.cells) if isinstance(cell, keras.layers.StackedRNNCells) else [cell]


def _has_own_prunable_weights(layer):
    return isinstance(layer, Prunable) and callable(layer.get_prunable_weights)


def has_prunable_weights(layer):
    """Whether pruning `layer` zeroes some of its weights (a weightless or
    DepthwiseConv layer can be wrapped but has nothing to prune)."""
    if _has_own_prunable_weights(layer):
        return True
    cells = _rnn_cells(layer)
    if cells is not None:
        return is_prunable(layer)
    return bool(_weight_paths(layer))


def is_prunable(layer):
    """Whether `layer` can be wrapped: a known layer, or one with `get_prunable_weights()`.

    RNN layers (`SimpleRNN`, `LSTM`, `GRU`, `RNN`) are prunable when each of
    their cells is.
    """
    if _has_own_prunable_weights(layer) or _weight_paths(layer) is not None:
        return True
    cells = _rnn_cells(layer)
    if cells is not None:
        return all(_has_own_prunable_weights(c) or _weight_paths(c) for c in cells)
    return isinstance(layer, WEIGHTLESS_LAYERS)


def _attribute(layer, path):
    for name in path.split("."):
        layer = getattr(layer, name)
    return layer


def prunable_weights(layer):
    """The variables of a built `layer` that pruning zeroes."""
    if not isinstance(layer, keras.layers.Layer):
        raise invalid("layer", "a Keras layer", layer, TypeError)
    if _has_own_prunable_weights(layer):
        return list(layer.get_prunable_weights())
    cells = _rnn_cells(layer)
    if cells is not None:
        return [w for cell in cells for w in prunable_weights(cell)]
    paths = _weight_paths(layer) or ()
    nested = [_attribute(layer, path) for path in paths if "." in path]
    names = {path for path in paths if "." not in path}
    return nested + [w for w in layer.trainable_weights if w.name in names]


def supported_layer_names():
    names = [cls.__name__ for cls, _ in PRUNABLE_WEIGHTS]
    return ", ".join(names + ["SimpleRNN/LSTM/GRU/RNN of those cells"])
