"""Representative (calibration) data for full-integer quantization, checked up front."""

import numpy as np

from tfx_ext._core.arguments import invalid


def _rows(data):
    """Yields one example at a time from an array, a tf.data.Dataset, or a generator/iterable."""
    if isinstance(data, np.ndarray):
        yield from data
        return
    try:
        import tensorflow as tf

        if isinstance(data, tf.data.Dataset):
            data = data.as_numpy_iterator()
    except ImportError:  # pragma: no cover - TensorFlow is a dependency
        pass
    if callable(data) and not hasattr(data, "__iter__"):
        data = data()
    for item in data:
        if isinstance(item, (tuple, list)):
            item = item[0]  # (x, y) pairs: keep x
        item = np.asarray(item)
        yield item


def calibration_examples(data, input_shape, input_dtype, limit):
    """Up to `limit` examples of shape `input_shape[1:]`, as float arrays, validated.

    Args:
        data: A NumPy array `(n, ...)`, a `tf.data.Dataset` (of examples or
            batches, or `(x, y)` pairs), or a generator / callable returning an
            iterable of them.
        input_shape: The model input's shape, batch axis first.
        input_dtype: The model input's dtype.
        limit: Maximum number of examples to take.
    """
    if data is None:
        raise invalid(
            "representative_data",
            "calibration inputs (a NumPy array, a tf.data.Dataset or a generator) for full-integer quantization",
            None,
        )
    example_shape = tuple(input_shape[1:])
    examples = []
    for item in _rows(data):
        batch = item if item.ndim == len(example_shape) + 1 else item[None]
        if batch.ndim != len(example_shape) + 1 or any(
            e is not None and e != s for e, s in zip(example_shape, batch.shape[1:])
        ):
            raise invalid(
                "representative_data",
                f"examples of shape {example_shape} (the model's input without its batch axis)",
                f"data of shape {item.shape}",
            )
        if batch.dtype.kind not in "fiub":
            raise invalid(
                "representative_data",
                f"numeric data (the model takes {input_dtype})",
                f"data of dtype {batch.dtype}",
                TypeError,
            )
        for example in batch:
            examples.append(example)
            if len(examples) >= limit:
                break
        if len(examples) >= limit:
            break
    if not examples:
        raise invalid("representative_data", "at least one example", "an empty dataset")
    stacked = np.stack(examples).astype(
        np.dtype(input_dtype) if np.dtype(input_dtype).kind == "f" else np.float32
    )
    if not np.all(np.isfinite(stacked)):
        raise invalid(
            "representative_data",
            "finite values",
            f"{int(np.sum(~np.isfinite(stacked)))} NaN/inf values",
        )
    return stacked
