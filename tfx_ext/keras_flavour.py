"""Which Keras an object belongs to: Keras 3 (`keras`) or Keras 2 (`tf_keras`).

Pruning, quantization and conversion take a different path for tf_keras
models (through tfmot); every module asks this one.
"""


def is_tf_keras(obj):
    """Whether `obj` is a tf_keras (Keras 2) object, judged by its class."""
    return any(cls.__module__.split(".")[0] == "tf_keras" for cls in type(obj).__mro__)
