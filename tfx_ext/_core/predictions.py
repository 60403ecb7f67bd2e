"""Whether a model is a classifier, and whether outputs are probabilities.

One home for the heuristics export (Classify signatures), MC Dropout
(entropy and mutual information) and the TFLite parity check apply.
"""

import numpy as np


def is_classifier_model(model):
    """Whether `model` is a single-output classifier: a `(batch, classes)`
    output with classes > 1 from a last layer with a softmax activation."""
    output = model.outputs[0]
    last = model.layers[-1] if model.layers else None
    activation = getattr(last, "activation", None)
    return (
        len(model.outputs) == 1
        and len(output.shape) == 2
        and (output.shape[-1] or 0) > 1
        and getattr(activation, "__name__", "") == "softmax"
    )


def looks_like_probabilities(values, atol=1e-3):
    """Whether the NumPy array `values` holds class probabilities: a class
    axis, no negative entry, and rows summing to 1 (logits do not)."""
    return (
        values.ndim >= 2
        and values.shape[-1] > 1
        and np.all(values >= -1e-6)
        and np.allclose(values.sum(axis=-1), 1.0, atol=atol)
    )
