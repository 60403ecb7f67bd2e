"""The condition checker of self-normalizing nets (Klambauer et al., 2017).

A stack of dense SELU layers keeps its activations at mean 0 and std 1 only
under conditions: a plain sequential stack, LeCun normal initialization,
standardized inputs, and no BatchNormalization, ordinary dropout, l1/l2
regularization or skip connections (AlphaDropout is fine).
`check_self_normalizing` checks a model against every condition.
"""

import dataclasses

import keras
import numpy as np

from tfx_ext._core.arguments import check_data, check_number, invalid
from tfx_ext._core.model_graphs import WEIGHTED_LAYERS, check_graph_model, leaf_layers
from tfx_ext.selu.statistics import model_inputs


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
        lines = [
            f"Model '{self.model_name}' breaks {len(self.violations)} condition(s) of self-normalization:"
        ]
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


_DROPOUTS = (
    keras.layers.Dropout,
    keras.layers.SpatialDropout1D,
    keras.layers.SpatialDropout2D,
    keras.layers.SpatialDropout3D,
)
_NORMALIZATIONS = (
    keras.layers.BatchNormalization,
    keras.layers.LayerNormalization,
    keras.layers.GroupNormalization,
    keras.layers.UnitNormalization,
)


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
        violations.append(
            Violation(model.name, f"{len(model.inputs)} inputs: not a plain sequential stack")
        )
    consumers = {}
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer):
            continue
        inputs = layer.input if isinstance(layer.input, (list, tuple)) else [layer.input]
        if len(inputs) > 1:
            violations.append(
                Violation(
                    layer.name,
                    f"merges {len(inputs)} tensors ({type(layer).__name__}): skip connections and merges break self-normalization",
                )
            )
        for tensor in inputs:
            consumers.setdefault(id(tensor), []).append(layer.name)
        if isinstance(layer, keras.Model):
            violations += _topology_violations(layer)
    for names in consumers.values():
        if len(names) > 1:
            violations.append(
                Violation(
                    names[0],
                    f"its input also feeds {', '.join(names[1:])}: a branching graph, not a plain stack",
                )
            )
    return violations


def _first_hidden_inputs(model, sample):
    """The inputs that reach the first weighted layer (after preprocessing layers)."""
    layers = list(leaf_layers(model))
    first = next((l for l in layers if isinstance(l, WEIGHTED_LAYERS)), None)
    if first is None:
        return np.asarray(sample)
    probe = keras.Model(model_inputs(model), first.input)
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
    layers = list(leaf_layers(model))
    weighted = [l for l in layers if isinstance(l, WEIGHTED_LAYERS)]
    hidden = weighted[:-1]  # the last weighted layer is the output
    for index, layer in enumerate(layers):
        if layer in hidden:
            activation = _activation_name(layer.activation)
            following = layers[index + 1] if index + 1 < len(layers) else None
            if activation == "linear" and isinstance(following, keras.layers.Activation):
                activation = _activation_name(following.activation)
            if activation != "selu":
                violations.append(
                    Violation(layer.name, f"hidden layer activation is '{activation}', not 'selu'")
                )
            initializer = layer.kernel_initializer
            if not _is_lecun_normal(initializer):
                violations.append(
                    Violation(
                        layer.name,
                        f"kernel initializer is {type(initializer).__name__}, not LecunNormal",
                    )
                )
        if isinstance(layer, _NORMALIZATIONS):
            violations.append(
                Violation(layer.name, f"{type(layer).__name__} breaks self-normalization")
            )
        if isinstance(layer, _DROPOUTS):
            violations.append(
                Violation(
                    layer.name,
                    f"{type(layer).__name__} breaks self-normalization: use AlphaDropout (or MCAlphaDropout)",
                )
            )
        if isinstance(layer, keras.layers.RNN):
            violations.append(
                Violation(
                    layer.name, "recurrent layer: self-normalization is for feed-forward stacks"
                )
            )
        for attribute in ("kernel_regularizer", "bias_regularizer", "activity_regularizer"):
            regularizer = getattr(layer, attribute, None)
            if regularizer is not None:
                violations.append(
                    Violation(
                        layer.name,
                        f"{attribute} {type(regularizer).__name__}: l1/l2 regularization breaks self-normalization",
                    )
                )
    if sample is not None:
        inputs = _first_hidden_inputs(model, sample).reshape(len(sample), -1)
        finite = np.isfinite(inputs)
        if not finite.all():
            # NaN statistics compare False with every bound: the checks below would pass them.
            violations.append(
                Violation(
                    "inputs",
                    f"{inputs.size - int(finite.sum())} of {inputs.size} input values are NaN "
                    "or infinite: clean or impute the inputs",
                )
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
                Violation(
                    "inputs",
                    f"{bad_mean.size} of {means.size} features have |mean| > {mean_tolerance} "
                    f"(worst: feature {bad_mean[np.argmax(np.abs(means[bad_mean]))]}, "
                    f"mean {means[bad_mean][np.argmax(np.abs(means[bad_mean]))]:.3g}): standardize the inputs",
                )
            )
        if bad_std.size:
            worst = bad_std[np.argmax(np.abs(np.log(np.maximum(stds[bad_std], 1e-12))))]
            violations.append(
                Violation(
                    "inputs",
                    f"{bad_std.size} of {stds.size} features have std outside [{low}, {high}] "
                    f"(worst: feature {worst}, std {stds[worst]:.3g}): standardize the inputs",
                )
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
