"""TFA's `assert_allclose_according_to_type`: tolerances by precision."""

import ml_dtypes
import numpy as np

_TOLERANCES = {  # dtype name: (rtol, atol), as in tensorflow_addons/utils/test_utils.py
    "float16": (1e-3, 1e-3),
    "bfloat16": (1e-2, 1e-2),
}


def tolerance_for(*dtypes):
    """The loosest of TFA's tolerances among `dtypes` (float32 and wider: 1e-6)."""
    rtol = atol = 1e-6
    for dtype in dtypes:
        name = (
            "bfloat16" if np.dtype(dtype) == np.dtype(ml_dtypes.bfloat16) else np.dtype(dtype).name
        )
        r, a = _TOLERANCES.get(name, (1e-6, 1e-6))
        rtol, atol = max(rtol, r), max(atol, a)
    return rtol, atol


def assert_allclose_according_to_type(a, b, input_dtype=None):
    """TFA's check. TFA's losses return the input's half dtype, which sets the
    tolerance; a Keras 3 `Loss` object returns its own dtype (float32), so
    `input_dtype` gives the precision the inputs were rounded to."""
    a, b = (x.numpy() if hasattr(x, "numpy") else np.asarray(x) for x in (a, b))
    dtypes = [a.dtype, b.dtype] + ([np.dtype(input_dtype)] if input_dtype is not None else [])
    rtol, atol = tolerance_for(*dtypes)
    np.testing.assert_allclose(a.astype("float64"), b.astype("float64"), rtol=rtol, atol=atol)
