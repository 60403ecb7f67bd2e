"""tfx_ext: Keras 3 extensions for training TensorFlow models and shipping them.

Importing `tfx_ext` registers every component (pruning wrappers and QAT
wrappers included) under the Keras package name `tfx_ext`, so models that use them load with `keras.models.load_model(path)`
and no `custom_objects`.

`tfx_ext.diagnostics`, `tfx_ext.export`, `tfx_ext.serving` and `tfx_ext.tuning`
are imported on first access (they bring TF Serving's protos, gRPC or
keras-tuner), so `import tfx_ext` stays fast and `tfx_ext.diagnostics.estimate_memory`
works without a separate import.
"""

import importlib

__version__ = "0.1.0"

from tfx_ext import activations
from tfx_ext import callbacks
from tfx_ext import generative
from tfx_ext import image
from tfx_ext import layers
from tfx_ext import lite
from tfx_ext import losses
from tfx_ext import metrics
from tfx_ext import optimizers
from tfx_ext import quantization
from tfx_ext import regularizers
from tfx_ext import rnn
from tfx_ext import schedules
from tfx_ext import selu
from tfx_ext import seq2seq
from tfx_ext import sparsity
from tfx_ext import text
from tfx_ext import training
from tfx_ext import uncertainty

# Subpackages imported on first attribute access (PEP 562).
_LAZY_SUBPACKAGES = ("diagnostics", "export", "serving", "tuning")


def __getattr__(name):
    if name in _LAZY_SUBPACKAGES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY_SUBPACKAGES))


__all__ = [
    "__version__",
    "activations",
    "callbacks",
    "generative",
    "image",
    "layers",
    "lite",
    "losses",
    "metrics",
    "optimizers",
    "quantization",
    "regularizers",
    "rnn",
    "schedules",
    "selu",
    "seq2seq",
    "sparsity",
    "text",
    "training",
    "uncertainty",
]
