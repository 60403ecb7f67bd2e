"""Folding an affine `Normalization` layer into the Dense/Conv layer that follows it.

Full-integer quantization gives a tensor one scale. A `Normalization` layer
whose 1/std factors span orders of magnitude (near-constant features, such as
the border pixels of digits) then loses most features' precision in its
output, and the whole int8 model its accuracy. Folding removes that tensor:

    Dense(W, b)((x - mean) / std) = Dense(W / std[:, None], b - (mean / std) @ W)(x)

so the model reads raw features and the scales live in the kernel, which
int8 quantizes per output channel. The folded model computes the same
function (up to float rounding); `compare` proves it on held-out data.

A `Normalization` layer is folded only where that identity holds exactly:
it normalizes along the last axis (`invert=False`), its output goes to one
layer and nowhere else, and that layer is a `Dense`, or a channels-last
`Conv1D/2D/3D` with `padding="valid"` (with "same" padding the zeros padded
around a normalized image stand for the mean, not for zero, in raw units).
Everything else is left as it is and reported with the reason.
"""

import dataclasses

import keras
import numpy as np

from tfx_ext._core.arguments import invalid
from tfx_ext._core.model_graphs import (
    calls_in_graph,
    clone_replacing,
    consumers_in_graph,
    is_graph_model,
    is_kernel_layer,
    is_model_output,
)


@dataclasses.dataclass
class FoldingResult:
    """What `fold_normalization` did.

    Attributes:
        model: The folded model (the input model itself when nothing was folded).
        folded: `(normalization layer name, layer it was folded into)` pairs.
        not_folded: `(normalization layer name, reason)` pairs for the
            `Normalization` layers left in the model.
    """

    model: keras.Model
    folded: list
    not_folded: list


def _why_not(model, norm):
    """None when `norm` can be folded into its single consumer, else the reason."""
    if norm.invert:
        return "it inverts (denormalizes) rather than normalizes"
    if norm.mean is None:
        return "it is not adapted or built"
    calls = calls_in_graph(model, norm)
    if len(calls) != 1:
        return "it is called more than once (a shared layer)"
    rank = len(calls[0].input_tensors[0].shape)
    axes = tuple(a % rank for a in norm.axis)
    if axes != (rank - 1,):
        return f"it normalizes along axis {norm.axis}, not only the last axis"
    if is_model_output(model, norm):
        return "its output is also a model output"
    consumers = consumers_in_graph(model, norm)
    if len(consumers) != 1:
        return f"its output feeds {len(consumers)} layers, not one"
    (target,) = consumers
    if not is_kernel_layer(target):
        return (
            f"it feeds '{target.name}' ({type(target).__name__}), not a Dense or Conv layer "
            "(a nonlinearity or reshaping layer in between stops folding)"
        )
    if len(calls_in_graph(model, target)) != 1:
        return f"'{target.name}' is called more than once (a shared layer)"
    if not isinstance(target, keras.layers.Dense):
        if target.data_format != "channels_last":
            return f"'{target.name}' is channels_first"
        if target.padding != "valid":
            return (
                f"'{target.name}' pads with padding='{target.padding}': the zeros it pads "
                "stand for the mean in raw units"
            )
        if target.groups != 1:
            return f"'{target.name}' is a grouped convolution"
    return None


def _inverse_std(norm):
    variance = np.asarray(keras.ops.convert_to_numpy(norm.variance), dtype="float64").reshape(-1)
    mean = np.asarray(keras.ops.convert_to_numpy(norm.mean), dtype="float64").reshape(-1)
    # Normalization divides by max(sqrt(variance), epsilon).
    return mean, 1.0 / np.maximum(np.sqrt(variance), keras.backend.epsilon())


def _folded_weights(norm, target):
    """The target's kernel and bias with the normalization folded in (float64 math)."""
    mean, inv_std = _inverse_std(norm)
    kernel = np.asarray(keras.ops.convert_to_numpy(target.kernel), dtype="float64")
    bias = (
        np.asarray(keras.ops.convert_to_numpy(target.bias), dtype="float64")
        if target.use_bias
        else np.zeros(kernel.shape[-1])
    )
    # The input-feature axis of a Dense kernel (in, out) or a conv kernel (..., in, out).
    feature_scale = inv_std.reshape((1,) * (kernel.ndim - 2) + (-1, 1))
    shift = (mean * inv_std).reshape((1,) * (kernel.ndim - 2) + (-1, 1))
    new_kernel = kernel * feature_scale
    new_bias = bias - np.sum(kernel * shift, axis=tuple(range(kernel.ndim - 1)))
    dtype = keras.ops.convert_to_numpy(target.kernel).dtype
    return [new_kernel.astype(dtype), new_bias.astype(dtype)]


def fold_normalization(model):
    """Folds each affine `Normalization` layer into the Dense/Conv layer it feeds.

    The returned model has an `Identity` layer where the `Normalization` was
    and the following layer's kernel and bias rescaled, so it computes the
    same outputs from the same raw inputs. Full-integer TFLite conversion
    (`tfx_ext.lite.convert(..., mode="int8")` does this by default) then no
    longer quantizes a tensor of normalized features with one scale. The
    input model is not modified.

    Args:
        model: A Sequential or functional Keras 3 model.

    Returns:
        A `FoldingResult`: the folded model, what was folded, and what was
        not (with the reason).

    Raises:
        TypeError: if `model` is not a Sequential or functional Keras model.

    Example:

    >>> result = fold_normalization(model)
    >>> result.folded
    [('standardize', 'dense')]
    >>> np.allclose(result.model.predict(x), model.predict(x), atol=1e-5)
    True
    """
    if not is_graph_model(model):
        raise invalid(
            "model",
            "a built Sequential (with an Input) or functional keras.Model",
            model,
            TypeError,
        )
    plans, not_folded = {}, []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            nested = [
                inner.name
                for inner in layer.layers
                if isinstance(inner, keras.layers.Normalization)
            ]
            not_folded += [
                (name, f"it is inside the nested model '{layer.name}'") for name in nested
            ]
        if not isinstance(layer, keras.layers.Normalization):
            continue
        reason = _why_not(model, layer)
        if reason is None:
            (target,) = consumers_in_graph(model, layer)
            plans[id(target)] = (layer, target)
        else:
            not_folded.append((layer.name, reason))
    if not plans:
        return FoldingResult(model, [], not_folded)

    folded_norms = {id(norm) for norm, _ in plans.values()}

    def replace(layer):
        if id(layer) in folded_norms:
            return keras.layers.Identity(name=layer.name), []
        if id(layer) in plans:
            norm, target = plans[id(layer)]
            config = {**target.get_config(), "use_bias": True}
            return target.__class__.from_config(config), _folded_weights(norm, target)
        return None

    clone = clone_replacing(model, replace)
    folded = [(norm.name, target.name) for norm, target in plans.values()]
    return FoldingResult(clone, folded, not_folded)
