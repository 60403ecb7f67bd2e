"""Values as TF Serving's REST API writes them, shared by both clients.

The gRPC client builds its `tf.train.Example`s from the same feature lists the
REST client sends, so both accept the same inputs.
"""

import base64

import numpy as np

from tfx_ext._core.arguments import invalid
from tfx_ext.serving.inference import as_array


def jsonable(value):
    """`value` as JSON for TF Serving's REST API (bytes as {"b64": ...})."""
    array = as_array(value)  # bytes stay whole (NumPy's S dtype drops trailing NULs)
    if array.dtype.kind in "SO" or isinstance(value, bytes):
        return np.vectorize(
            lambda b: {"b64": base64.b64encode(b).decode()} if isinstance(b, bytes) else b,
            otypes=[object],
        )(array).tolist()
    return array.tolist()


def example_features(example):
    """A {feature name: value} dict as the lists of a `tf.train.Example`'s features."""
    if not isinstance(example, dict):
        raise invalid("examples", "a list of {feature name: value} dicts", example, TypeError)
    out = {}
    for name, value in example.items():
        array = np.asarray(value)
        if array.dtype.kind == "f":
            out[name] = [float(v) for v in array.reshape(-1)]
        elif array.dtype.kind in "iub":
            out[name] = [int(v) for v in array.reshape(-1)]
        else:
            out[name] = jsonable(value if isinstance(value, list) else [value])
    return out
