"""Which model an integer conversion converts: with or without folded Normalization layers.

`convert` asks here for its integer candidates, warns about a Normalization
that int8 cannot represent, refuses an untrained QAT model, and keeps the
candidate closest to the Keras model.
"""

import os
import warnings

import numpy as np

from tfx_ext._core.arguments import invalid
from tfx_ext._core.model_graphs import is_graph_model


def warn_on_wide_normalization(model, mode, not_folded):
    """Full-integer models quantize a Normalization layer's output with one
    per-tensor scale: when its 1/std factors span orders of magnitude
    (near-constant features), most features lose their precision. Only the
    layers that could not be folded into the next layer are at risk."""
    import keras

    from tfx_ext._core.model_graphs import all_layers

    reasons = dict(not_folded)
    for layer in all_layers(model):
        if not isinstance(layer, keras.layers.Normalization) or layer.variance is None:
            continue
        if layer.name not in reasons:
            continue
        factors = 1.0 / np.maximum(
            np.sqrt(np.asarray(keras.ops.convert_to_numpy(layer.variance))), 1e-7
        )
        factors = factors.reshape(-1)
        spread = factors.max() / max(np.median(factors), 1e-12)
        if not spread <= 100:  # a NaN variance warns too
            warnings.warn(
                f"Layer '{layer.name}' scales its features by factors from {factors.min():.3g} to "
                f"{factors.max():.3g} and could not be folded into the next layer "
                f"({reasons[layer.name]}); {mode} quantizes its output with one per-tensor scale, "
                "so most features lose their precision. Use mode='dynamic_range' (float "
                "activations), or normalize the inputs outside the model. compare() shows the effect.",
                stacklevel=5,  # convert -> _convert_candidates -> integer_candidates -> here
            )


def integer_candidates(model, mode, fold):
    """`(model to convert, folded pairs)` candidates for an integer mode: one, or with
    `fold="auto"` and a foldable Normalization, the folded and the unfolded model."""
    import keras

    if isinstance(model, (str, os.PathLike)) or not isinstance(model, keras.Model):
        return [(model, [])]
    from tfx_ext.lite.integer_preparation import prepare_for_integer

    if not is_graph_model(model):  # subclassed: nothing to rewrite
        not_folded = [
            (layer.name, "the model is subclassed (no layer graph to rewrite)")
            for layer in model.layers
        ]
        warn_on_wide_normalization(model, mode, not_folded)
        return [(model, [])]
    prepared, folding = prepare_for_integer(model, fold=fold is not False)
    warn_on_wide_normalization(model, mode, folding.not_folded)
    candidates = [(prepared, folding.folded)]
    if fold == "auto" and folding.folded:
        unfolded, _ = prepare_for_integer(model, fold=False)
        candidates.append((unfolded, []))
    return candidates


def refuse_untrained_qat(model):
    """A QAT model converted before training has no ranges to use: say so, not just "no data"."""
    import keras

    from tfx_ext._core.model_graphs import all_layers
    from tfx_ext.lite.quantize_aware import QuantizeAware

    if isinstance(model, keras.Model) and any(
        isinstance(layer, QuantizeAware) for layer in all_layers(model)
    ):
        raise invalid(
            "representative_data",
            "calibration inputs, or a trained QAT model: this model's quantization ranges were never "
            "learned (train it, even briefly, then convert it without data)",
            None,
        )


def closest_to_keras(model, candidates, examples, convert_one):
    """Converts each candidate; keeps the one whose outputs on the calibration
    examples are closest to the Keras model's (mean absolute difference).

    Folding moves the Normalization's 1/std spread from one activation tensor
    into the kernel, which int8 quantizes per output channel: which of the two
    loses less depends on the model and the data, so it is measured.
    """
    from tfx_ext.lite.compare import compare

    data = np.stack(examples[:100])
    best, problems = None, []
    for candidate, folded in candidates:
        content = convert_one(candidate, examples)
        with warnings.catch_warnings():  # a non-finite candidate is reported below, once
            warnings.simplefilter("ignore", RuntimeWarning)
            report = compare(model, content, data)
        if not report.finite:  # its difference is infinite: never "closest"
            problems.append(report.nonfinite_problem())
            continue
        if best is None or report.mean_abs_diff < best[0]:
            best = (report.mean_abs_diff, content, folded)
    if best is None:
        raise ValueError(
            "Every integer conversion candidate gave NaN or infinite outputs on the calibration "
            f"examples ({'; '.join(problems)}); no model was kept."
        )
    return best[1], best[2]
