"""Sparsity report and the book's post-training baseline (zero out tiny weights)."""

import dataclasses
import gzip

import keras
import numpy as np

from tfx_ext._core.arguments import check_number, invalid
from tfx_ext._core.keras_flavour import is_tf_keras
from tfx_ext._core.model_graphs import all_layers, clone_with, fresh_copy
from tfx_ext.sparsity.prunable_layers import is_prunable, prunable_weights
from tfx_ext.sparsity.prune_low_magnitude import PruneLowMagnitude


@dataclasses.dataclass
class LayerSparsity:
    name: str
    parameters: int
    zeros: int

    @property
    def sparsity(self):
        return self.zeros / self.parameters if self.parameters else 0.0


@dataclasses.dataclass
class SparsityReport:
    """Per-layer and total sparsity of the prunable weights, and the model's weight bytes.

    `raw_bytes` is the size of all the model's weights; `gzip_bytes` that of
    the same bytes gzip-compressed — zeros compress, which is how sparsity
    shrinks a download.
    """

    layers: list
    total_parameters: int
    raw_bytes: int
    gzip_bytes: int

    @property
    def prunable_parameters(self):
        return sum(l.parameters for l in self.layers)

    @property
    def sparsity(self):
        """Fraction of zeros among the prunable weights."""
        total = self.prunable_parameters
        return sum(l.zeros for l in self.layers) / total if total else 0.0

    @property
    def compression_ratio(self):
        return self.raw_bytes / self.gzip_bytes

    def __str__(self):
        lines = [f"{'layer':<32} {'params':>10} {'zeros':>10} {'sparsity':>9}"]
        lines += [
            f"{l.name:<32} {l.parameters:>10,} {l.zeros:>10,} {l.sparsity:>9.1%}"
            for l in self.layers
        ]
        lines.append(
            f"{'prunable total':<32} {self.prunable_parameters:>10,} "
            f"{sum(l.zeros for l in self.layers):>10,} {self.sparsity:>9.1%}"
        )
        lines.append(
            f"all {self.total_parameters:,} parameters: {self.raw_bytes:,} bytes raw, "
            f"{self.gzip_bytes:,} gzip-compressed ({self.compression_ratio:.2f}x)"
        )
        return "\n".join(lines)


def _layer_weights(layer):
    if isinstance(layer, PruneLowMagnitude):
        masked = layer.masked_weights()
        by_id = {id(w): v for w, v in zip(layer.layer.weights, masked)}
        return [by_id[id(w)] for w in layer.pruned_weights], layer.layer.name
    return [keras.ops.convert_to_numpy(w) for w in prunable_weights(layer)], layer.name


def sparsity_report(model):
    """Sparsity per prunable layer (wrapped or not), in total, and weight sizes raw and gzipped.

    Example:

    >>> print(sparsity_report(strip_pruning(pruned)))
    """
    if is_tf_keras(model):
        return _tf_keras_report(model)
    if not isinstance(model, keras.Model):
        raise invalid("model", "a Keras model", model, TypeError)
    layers = []
    for layer in all_layers(model):
        if isinstance(layer, keras.Model) or not (
            isinstance(layer, PruneLowMagnitude) or is_prunable(layer)
        ):
            continue
        values, name = _layer_weights(layer)
        if values:
            layers.append(
                LayerSparsity(
                    name, int(sum(v.size for v in values)), int(sum((v == 0).sum() for v in values))
                )
            )
    # Masks and step counters are bookkeeping, not model weights.
    weights = []
    for layer in all_layers(model):
        if isinstance(layer, keras.Model):
            continue
        weights += (
            layer.masked_weights()
            if isinstance(layer, PruneLowMagnitude)
            else [keras.ops.convert_to_numpy(w) for w in layer.weights]
        )
    return _report(layers, weights)


_TF_KERAS_PRUNABLE = ("kernel", "depthwise_kernel", "pointwise_kernel", "embeddings")


def _tf_keras_report(model):
    """Report for a (stripped) tf_keras model: kernels and embeddings are the prunable weights."""
    if any("prune_low_magnitude" in layer.name for layer in model.layers):
        raise ValueError(
            "sparsity_report on a tf_keras model needs the stripped model: call strip_pruning(model) first."
        )
    layers = []
    for layer in model.layers:
        values = [
            w.numpy()
            for w in layer.weights
            if w.name.split("/")[-1].split(":")[0] in _TF_KERAS_PRUNABLE
        ]
        if values:
            layers.append(
                LayerSparsity(
                    layer.name,
                    int(sum(v.size for v in values)),
                    int(sum((v == 0).sum() for v in values)),
                )
            )
    return _report(layers, model.get_weights())


def _report(layers, weights):
    blob = b"".join(np.ascontiguousarray(w).tobytes() for w in weights)
    return SparsityReport(
        layers=layers,
        total_parameters=int(sum(w.size for w in weights)),
        raw_bytes=len(blob),
        gzip_bytes=len(gzip.compress(blob, compresslevel=9)),
    )


def zero_small_weights(model, threshold=None, target_sparsity=None):
    """The book's post-training baseline: a copy of `model` with tiny prunable weights zeroed.

    Give exactly one of `threshold` (zero every prunable weight with
    `|w| < threshold`) or `target_sparsity` (zero that fraction of each
    prunable weight, smallest magnitudes first). No retraining: compare with
    `prune_low_magnitude` to see what pruning during training buys.
    """
    if (threshold is None) == (target_sparsity is None):
        raise ValueError(
            "Invalid arguments: expected exactly one of `threshold` or `target_sparsity`. "
            f"Received: threshold={threshold!r}, target_sparsity={target_sparsity!r}"
        )
    if threshold is not None:
        threshold = check_number("threshold", threshold, low=0.0)
    else:
        target_sparsity = check_number("target_sparsity", target_sparsity, 0.0, 1.0, high_open=True)
    if not isinstance(model, keras.Model):
        raise invalid("model", "a Keras model", model, TypeError)
    clone = clone_with(model, fresh_copy, "zero_small_weights")
    for layer in all_layers(clone):
        if isinstance(layer, keras.Model) or not is_prunable(layer):
            continue
        for weight in prunable_weights(layer):
            values = keras.ops.convert_to_numpy(weight)
            if threshold is not None:
                cut = threshold
                values = np.where(np.abs(values) < cut, 0.0, values)
            else:
                # Same rounding as the pruning masks: keep round((1 - s) * n) weights.
                k = values.size - int(round((1.0 - target_sparsity) * values.size))
                if k:
                    order = np.argsort(np.abs(values), axis=None)
                    flat = values.reshape(-1).copy()
                    flat[order[:k]] = 0.0
                    values = flat.reshape(values.shape)
            weight.assign(values.astype(values.dtype))
    return clone
