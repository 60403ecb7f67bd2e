"""Rewrites a Keras model, keeping its function, so that integer quantization keeps its accuracy.

Used by `convert` in the integer modes (int8, int16x8) before export:
- each affine `Normalization` layer is folded into the Dense/Conv layer it feeds
  (`fold_normalization`), so no tensor of normalized features has to share one scale;
- SELU activations are computed as `integer_friendly_selu`, whose EXP sees only
  the negative side.
The rewritten model computes the same outputs in float; `compare` checks the
converted model against the original one.
"""

import keras

from tfx_ext._core.model_graphs import clone_replacing
from tfx_ext.lite.integer_selu import integer_friendly_selu
from tfx_ext.lite.normalization_folding import FoldingResult, fold_normalization


def _uses_selu(layer):
    return getattr(layer, "activation", None) is keras.activations.selu


def _with_integer_friendly_selu(model):
    if not any(_uses_selu(layer) for layer in model.layers):
        return model

    def replace(layer):
        if not _uses_selu(layer):
            return None
        config = {**layer.get_config(), "activation": integer_friendly_selu}
        return layer.__class__.from_config(config), layer.get_weights()

    return clone_replacing(model, replace)


def prepare_for_integer(model, fold=True):
    """Returns `(model to convert, FoldingResult)` for a Sequential or functional model."""
    if fold:
        folding = fold_normalization(model)
    else:
        names = [
            layer.name for layer in model.layers if isinstance(layer, keras.layers.Normalization)
        ]
        folding = FoldingResult(
            model,
            [],
            [(name, "folding was turned off (fold_normalization=False)") for name in names],
        )
    return _with_integer_friendly_selu(folding.model), folding
