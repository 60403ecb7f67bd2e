"""Self-normalizing networks ("Hands-On ML" ch. 11; Klambauer et al., 2017).

A stack of dense SELU layers keeps its activations at mean 0 and std 1 —
but only under conditions: a plain sequential stack, LeCun normal
initialization, standardized inputs, and no BatchNormalization, ordinary
dropout, l1/l2 regularization or skip connections (AlphaDropout is fine).
`self_normalizing_mlp` builds such a net; `check_self_normalizing` checks a
model against every condition; `activation_statistics` shows whether the
normalization holds, layer by layer.
"""

import dataclasses
import numbers

import keras
import numpy as np

from tfx_ext.arguments import check_data, check_graph_model, check_int, check_number, invalid
from tfx_ext.layers.mc_dropout import MCAlphaDropout
from tfx_ext.plotting import new_axes, save


def self_normalizing_mlp(
    input_shape,
    hidden_units,
    output_units,
    output_activation=None,
    dropout_rate=0.0,
    mc=False,
    adapt_data=None,
    name="self_normalizing_mlp",
):
    """Builds a self-normalizing MLP: Normalization, then SELU + LeCun normal layers.

    Args:
        input_shape: Shape of one example, e.g. `(64,)`.
        hidden_units: Units of each hidden layer, a non-empty list of ints.
        output_units: Units of the output layer, an integer >= 1.
        output_activation: Activation of the output layer (e.g. `"softmax"`).
        dropout_rate: AlphaDropout rate after each hidden layer, in `[0, 1)`.
        mc: Use `MCAlphaDropout` (stays on at inference, for `mc_predict`).
        adapt_data: Optional training inputs to adapt the `Normalization`
            layer with (see `adapt_normalization`); otherwise call
            `adapt_normalization(model.layers[0], x)` yourself.
        name: Name of the model.

    Returns:
        A `keras.Sequential` model (not compiled).

    Raises:
        ValueError: `input_shape` is not a tuple of positive sizes,
            `hidden_units` is empty or holds a size < 1, `output_units` < 1,
            `dropout_rate` outside `[0, 1)`, or `adapt_data` is empty, holds
            NaN/inf or examples of another shape.
        TypeError: A size is not an integer or `adapt_data` not numeric.

    Example:

    >>> model = self_normalizing_mlp((64,), [100] * 20, 10, "softmax",
    ...                              dropout_rate=0.1, mc=True, adapt_data=x_train)
    """
    input_shape = _check_input_shape(input_shape)
    if not isinstance(hidden_units, (list, tuple)) or not hidden_units:
        raise invalid("hidden_units", "a non-empty list of integers", hidden_units)
    hidden_units = [check_int("hidden_units", u, minimum=1) for u in hidden_units]
    output_units = check_int("output_units", output_units, minimum=1)
    dropout_rate = check_number("dropout_rate", dropout_rate, 0.0, 1.0, high_open=True)
    normalization = keras.layers.Normalization(name="standardize")
    if adapt_data is not None:
        adapt_data = check_data("adapt_data", adapt_data, example_shape=input_shape)
    layers = [keras.Input(input_shape), normalization]
    dropout = MCAlphaDropout if mc else keras.layers.AlphaDropout
    for i, units in enumerate(hidden_units):
        layers.append(
            keras.layers.Dense(units, activation="selu", kernel_initializer="lecun_normal", name=f"hidden_{i}")
        )
        if dropout_rate > 0:
            layers.append(dropout(dropout_rate, name=f"alpha_dropout_{i}"))
    layers.append(
        keras.layers.Dense(output_units, activation=output_activation, kernel_initializer="lecun_normal", name="output")
    )
    model = keras.Sequential(layers, name=name)
    if adapt_data is not None:
        adapt_normalization(normalization, adapt_data)
    return model


def _check_input_shape(input_shape):
    expected = "the shape of one example, a tuple of integers >= 1 such as (64,)"
    if not isinstance(input_shape, (list, tuple)) or not input_shape:
        raise invalid("input_shape", expected, input_shape)
    for size in input_shape:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise invalid("input_shape", expected, input_shape)
    return tuple(input_shape)


def adapt_normalization(normalization, data):
    """Adapts a `Normalization` layer, giving constant features unit variance.

    Keras divides by `max(std, 1e-7)`, and its streaming variance of a
    constant feature (a border pixel) comes out as rounding noise (~1e-11)
    rather than 0: the feature would then be scaled by ~1e5, turning any
    other value into a huge activation at inference and swamping the other
    features' scales when the model is quantized to int8. A feature that is
    constant in `data` gets its exact value as mean and unit variance: it
    just stays centered at 0.

    Args:
        normalization: A `keras.layers.Normalization` layer (adapted in place).
        data: The training inputs, a non-empty finite numeric array.

    Raises:
        TypeError: `normalization` is not a `Normalization` layer, or `data`
            is not numeric.
        ValueError: `data` is empty or holds NaN/inf (one NaN would make the
            model predict NaN everywhere).

    Example:

    >>> adapt_normalization(model.layers[0], x_train)
    """
    if not isinstance(normalization, keras.layers.Normalization):
        raise invalid("normalization", "a keras.layers.Normalization layer", normalization, TypeError)
    data = np.asarray(check_data("data", data))
    normalization.adapt(data)
    kept = tuple(a % data.ndim for a in normalization.axis)
    reduced = tuple(a for a in range(data.ndim) if a not in kept)
    constant = np.ptp(data, axis=reduced) == 0
    mean = keras.ops.convert_to_numpy(normalization.adapt_mean)
    variance = keras.ops.convert_to_numpy(normalization.adapt_variance)
    constant = constant.reshape(mean.shape)
    exact = data[tuple(0 if a in reduced else slice(None) for a in range(data.ndim))].reshape(mean.shape)
    normalization.adapt_mean.assign(np.where(constant, exact, mean).astype(mean.dtype))
    normalization.adapt_variance.assign(np.where(constant | (variance <= 1e-12), 1.0, variance).astype(variance.dtype))
    normalization.finalize_state()


@dataclasses.dataclass
class Violation:
    """A condition of self-normalization that a model breaks.

    Attributes:
        layer: Name of the offending layer (`"inputs"` for the data, the
            model's name for its topology).
        reason: What is wrong and what to do instead.
    """

    layer: str
    reason: str

    def __str__(self):
        return f"{self.layer}: {self.reason}"


class SelfNormalizationError(ValueError):
    """Raised by `SelfNormalizingReport.raise_if_violated`."""


@dataclasses.dataclass
class SelfNormalizingReport:
    """The result of `check_self_normalizing`: `ok`, and every violation.

    Attributes:
        model_name: Name of the checked model.
        violations: A list of `Violation`, empty when the model qualifies.
        ok: `True` when there is no violation.

    `str(report)` groups the violations by reason; `raise_if_violated()`
    raises `SelfNormalizationError` with that text.
    """

    model_name: str
    violations: list

    @property
    def ok(self):
        """`True` when the model meets every checked condition."""
        return not self.violations

    def __str__(self):
        if self.ok:
            return f"Model '{self.model_name}' meets the conditions for self-normalization."
        by_reason = {}
        for v in self.violations:
            by_reason.setdefault(v.reason, []).append(v.layer)
        lines = [f"Model '{self.model_name}' breaks {len(self.violations)} condition(s) of self-normalization:"]
        for reason, layers in by_reason.items():
            names = ", ".join(layers[:3])
            if len(layers) > 3:
                names += f" and {len(layers) - 3} more layers"
            lines.append(f"  - {names}: {reason}")
        return "\n".join(lines)

    def raise_if_violated(self):
        """Raises `SelfNormalizationError` (with the report's text) unless `ok`."""
        if not self.ok:
            raise SelfNormalizationError(str(self))


_DROPOUTS = (keras.layers.Dropout, keras.layers.SpatialDropout1D, keras.layers.SpatialDropout2D, keras.layers.SpatialDropout3D)
_NORMALIZATIONS = (
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
    keras.layers.UnitNormalization,
)
_WEIGHTED = (keras.layers.Dense, keras.layers.EinsumDense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)


def _flat_layers(model):
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            yield from _flat_layers(layer)
        else:
            yield layer


def _is_lecun_normal(initializer):
    if isinstance(initializer, keras.initializers.LecunNormal):
        return True
    if isinstance(initializer, keras.initializers.VarianceScaling):
        return (
            initializer.mode == "fan_in"
            and np.isclose(initializer.scale, 1.0)
            and initializer.distribution in ("truncated_normal", "untruncated_normal", "normal")
        )
    return False


def _activation_name(activation):
    if activation is None:
        return "linear"
    return getattr(activation, "__name__", type(activation).__name__)


def _topology_violations(model):
    violations = []
    if len(model.inputs or []) > 1:
        violations.append(Violation(model.name, f"{len(model.inputs)} inputs: not a plain sequential stack"))
    consumers = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        if len(inputs) > 1:
            violations.append(
                Violation(layer.name, f"merges {len(inputs)} tensors ({type(layer).__name__}): skip connections and merges break self-normalization")
            )
        for tensor in inputs:
            consumers.setdefault(id(tensor), []).append(layer.name)
        if isinstance(layer, keras.Model):
            violations += _topology_violations(layer)
    for names in consumers.values():
        if len(names) > 1:
            violations.append(Violation(names[0], f"its input also feeds {', '.join(names[1:])}: a branching graph, not a plain stack"))
    return violations


def _model_inputs(model):
    return model.inputs[0] if len(model.inputs) == 1 else model.inputs


def _first_hidden_inputs(model, sample):
    """The inputs that reach the first weighted layer (after preprocessing layers)."""
    layers = list(_flat_layers(model))
    first = next((l for l in layers if isinstance(l, _WEIGHTED)), None)
    if first is None:
        return np.asarray(sample)
    probe = keras.Model(_model_inputs(model), first.input)
    return np.asarray(probe(np.asarray(sample), training=False))


def check_self_normalizing(model, sample=None, mean_tolerance=0.2, std_range=(0.7, 1.3)):
    """Checks a model against the conditions under which SELU self-normalizes.

    Lists every violation with the layer and the reason: a hidden layer whose
    activation is not SELU or whose kernel initializer is not LeCun normal;
    BatchNormalization (or another normalization layer); ordinary or spatial
    dropout (AlphaDropout is fine); kernel, bias or activity regularizers;
    recurrent layers; and a graph that is not a plain chain (several inputs,
    merges, skip connections). With `sample`, the inputs reaching the first
    hidden layer (after any `Normalization`) must be standardized: every
    feature's mean within `mean_tolerance` of 0 and std within `std_range`
    (constant features, which cannot be standardized, are skipped).

    Args:
        model: A built Keras model.
        sample: Optional input batch (a few hundred examples is plenty).
        mean_tolerance: Largest accepted |mean| per input feature.
        std_range: Accepted `(low, high)` std per input feature.

    Returns:
        A `SelfNormalizingReport`: `report.ok`, `report.violations`,
        `print(report)`, `report.raise_if_violated()`.

    Raises:
        TypeError: `model` is not a `keras.Model`.
        ValueError: `model` is subclassed (no graph of layers to read),
            `std_range` is not `(low, high)` with `0 <= low < high`, or
            `sample` is empty or not finite.

    Example:

    >>> report = check_self_normalizing(model, sample=x_train[:500])
    >>> print(report)
    """
    check_graph_model("model", model, "check_self_normalizing")
    mean_tolerance = check_number("mean_tolerance", mean_tolerance, low=0.0)
    std_range = _check_std_range(std_range)
    if sample is not None:
        sample = check_data("sample", sample)
    violations = _topology_violations(model)
    layers = list(_flat_layers(model))
    weighted = [l for l in layers if isinstance(l, _WEIGHTED)]
    hidden = weighted[:-1]  # the last weighted layer is the output
    for index, layer in enumerate(layers):
        if layer in hidden:
            activation = _activation_name(layer.activation)
            following = layers[index + 1] if index + 1 < len(layers) else None
            if activation == "linear" and isinstance(following, keras.layers.Activation):
                activation = _activation_name(following.activation)
            if activation != "selu":
                violations.append(Violation(layer.name, f"hidden layer activation is '{activation}', not 'selu'"))
            initializer = layer.kernel_initializer
            if not _is_lecun_normal(initializer):
                violations.append(
                    Violation(layer.name, f"kernel initializer is {type(initializer).__name__}, not LecunNormal")
                )
        if isinstance(layer, _NORMALIZATIONS):
            violations.append(Violation(layer.name, f"{type(layer).__name__} breaks self-normalization"))
        if isinstance(layer, _DROPOUTS):
            violations.append(
                Violation(layer.name, f"{type(layer).__name__} breaks self-normalization: use AlphaDropout (or MCAlphaDropout)")
            )
        if isinstance(layer, keras.layers.RNN):
            violations.append(Violation(layer.name, "recurrent layer: self-normalization is for feed-forward stacks"))
        for attribute in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            regularizer = getattr(layer, attribute, None)
            if regularizer is not None:
                violations.append(
                    Violation(layer.name, f"{attribute} {type(regularizer).__name__}: l1/l2 regularization breaks self-normalization")
                )
    if sample is not None:
        inputs = _first_hidden_inputs(model, sample).reshape(len(sample), -1)
        finite = np.isfinite(inputs)
        if not finite.all():
            # NaN statistics compare False with every bound: the checks below would pass them.
            violations.append(
                Violation("inputs", f"{inputs.size - int(finite.sum())} of {inputs.size} input values are NaN "
                          "or infinite: clean or impute the inputs")
            )
            inputs = np.where(finite, inputs, 0.0)
        means, stds = inputs.mean(axis=0), inputs.std(axis=0)
        low, high = std_range
        # A constant feature (a border pixel that is always 0) cannot be
        # standardized; it only shifts the first layer's biases, so skip it.
        varying = stds > 1e-6
        bad_mean = np.flatnonzero(varying & (np.abs(means) > mean_tolerance))
        bad_std = np.flatnonzero(varying & ((stds < low) | (stds > high)))
        if bad_mean.size:
            violations.append(
                Violation("inputs", f"{bad_mean.size} of {means.size} features have |mean| > {mean_tolerance} "
                          f"(worst: feature {bad_mean[np.argmax(np.abs(means[bad_mean]))]}, "
                          f"mean {means[bad_mean][np.argmax(np.abs(means[bad_mean]))]:.3g}): standardize the inputs")
            )
        if bad_std.size:
            worst = bad_std[np.argmax(np.abs(np.log(np.maximum(stds[bad_std], 1e-12))))]
            violations.append(
                Violation("inputs", f"{bad_std.size} of {stds.size} features have std outside [{low}, {high}] "
                          f"(worst: feature {worst}, std {stds[worst]:.3g}): standardize the inputs")
            )
    return SelfNormalizingReport(model.name, violations)


def _check_std_range(std_range):
    expected = "a pair (low, high) with 0 <= low < high"
    if not isinstance(std_range, (list, tuple)) or len(std_range) != 2:
        raise invalid("std_range", expected, std_range)
    low = check_number("std_range", std_range[0], low=0.0)
    high = check_number("std_range", std_range[1], low=0.0)
    if not low < high:
        raise invalid("std_range", expected, std_range)
    return low, high


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
    x = check_data("x", x, example_shape=tuple(model.inputs[0].shape[1:]) if len(model.inputs) == 1 else None)
    layer_types = layer_types or _WEIGHTED
    chosen = [l for l in model.layers if isinstance(l, layer_types)]
    if not chosen:
        raise invalid("layer_types", "layer types present in the model", layer_types)
    probe = keras.Model(_model_inputs(model), [l.output for l in chosen])
    outputs = probe(np.asarray(x), training=False)
    outputs = outputs if isinstance(outputs, (list, tuple)) else [outputs]
    stats = []
    for layer, output in zip(chosen, outputs):
        values = keras.ops.convert_to_numpy(output)
        stats.append(LayerStatistics(layer.name, float(values.mean()), float(values.std())))
    return stats


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
        raise invalid("statistics", "a non-empty list of LayerStatistics (from activation_statistics)", statistics)
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
