"""tfx_ext: Keras 3 extensions for training TensorFlow models and shipping them.

Importing `tfx_ext` registers every component (pruning wrappers and QAT
wrappers included) under the Keras package name `tfx_ext`, so models that use them load with `keras.models.load_model(path)`
and no `custom_objects`.
"""

__version__ = "0.1.0"

from tfx_ext import callbacks
from tfx_ext import layers
from tfx_ext import lite
from tfx_ext import losses
from tfx_ext import metrics
from tfx_ext import optimizers
from tfx_ext import rnn
from tfx_ext import schedules
from tfx_ext import selu
from tfx_ext import seq2seq
from tfx_ext import sparsity
from tfx_ext import training
from tfx_ext import uncertainty

__all__ = [
    "__version__",
    "callbacks",
    "layers",
    "lite",
    "losses",
    "metrics",
    "optimizers",
    "rnn",
    "schedules",
    "selu",
    "seq2seq",
    "sparsity",
    "training",
    "uncertainty",
]
