"""TensorFlow Addons' activations on Keras 3 (`tfa.activations.X` -> `tfx_ext.activations.X`).

`lisht`, `rrelu`, `snake` and `sparsemax` are ours (Keras 3 core lacks the first
three; its `sparsemax` differs from TFA's on rows with infinities). `gelu`,
`hardshrink`, `softshrink`, `tanhshrink` and `mish` are thin wrappers over
Keras's `gelu`, `hard_shrink`, `soft_shrink`, `tanh_shrink` and `mish` that keep
TFA's argument names and defaults (see `keras_core`).
"""

from tfx_ext.activations.keras_core import gelu, hardshrink, mish, softshrink, tanhshrink
from tfx_ext.activations.lisht import lisht
from tfx_ext.activations.rrelu import rrelu
from tfx_ext.activations.snake import snake
from tfx_ext.activations.sparsemax import sparsemax

__all__ = [
    "gelu",
    "hardshrink",
    "lisht",
    "mish",
    "rrelu",
    "snake",
    "softshrink",
    "sparsemax",
    "tanhshrink",
]
