"""Helpers shared by the metric tests: stream data through a metric in uneven batches."""

import numpy as np

# Uneven on purpose (a tiny batch, a big one): 100 examples in all.
BATCH_SIZES = (7, 31, 2, 60)
NUM_EXAMPLES = sum(BATCH_SIZES)


def stream(metric, y_true, y_pred, sample_weight=None, batch_sizes=BATCH_SIZES):
    """Feeds the arrays to `metric.update_state` batch by batch; returns `result()` as a float."""
    if sum(batch_sizes) != len(y_true):
        raise ValueError(f"batch sizes {batch_sizes} do not cover {len(y_true)} examples")
    start = 0
    for size in batch_sizes:
        end = start + size
        weights = None if sample_weight is None else sample_weight[start:end]
        metric.update_state(y_true[start:end], y_pred[start:end], sample_weight=weights)
        start = end
    return float(metric.result())


def noisy_labels(rng, y_true, num_classes, error_rate):
    """A copy of `y_true` where a fraction `error_rate` of entries is redrawn at random."""
    y_pred = y_true.copy()
    flip = rng.random(len(y_true)) < error_rate
    y_pred[flip] = rng.integers(0, num_classes, flip.sum())
    return y_pred


def scores_for(rng, classes, num_classes, strength=1.5):
    """Probability rows whose argmax is often (not always) `classes`."""
    logits = rng.standard_normal((len(classes), num_classes))
    logits[np.arange(len(classes)), classes] += strength
    exp = np.exp(logits - logits.max(axis=1, keepdims=True))
    return (exp / exp.sum(axis=1, keepdims=True)).astype("float32")


def one_hot(ids, num_classes):
    return np.eye(num_classes, dtype="float32")[ids]


def sample_weights(rng, n):
    """Positive weights with a few exact zeros."""
    weights = rng.uniform(0.1, 3.0, n)
    weights[rng.random(n) < 0.1] = 0.0
    return weights.astype("float32")
