"""Which Keras an object belongs to: Keras 3 (`keras`) or Keras 2 (`tf_keras`).

Pruning, quantization and conversion take a different path for tf_keras
models (through tfmot); every module asks this one.
"""


def is_tf_keras(obj):
    """Whether `obj` is a tf_keras (Keras 2) object, judged by its class."""
    return any(cls.__module__.split(".")[0] == "tf_keras" for cls in type(obj).__mro__)


def import_tfmot():
    """`tensorflow_model_optimization`, imported without switching the process to tf_keras.

    tfmot 0.8 sets `os.environ["TF_USE_LEGACY_KERAS"] = "1"` when it is
    imported, and reads `tf.keras`; if nothing had read `tf.keras` before,
    TensorFlow's lazy `tf.keras` then resolves to tf_keras for the rest of
    the process (and the variable passes to every subprocess). A user who
    prunes a tf_keras model through tfx_ext would find `tf.keras.layers.X`
    silently building tf_keras layers afterwards. So `tf.keras` is resolved
    first, under the caller's setting, and the variable is put back.
    Every import of tfmot in tfx_ext goes through here.
    """
    import os

    import tensorflow as tf

    before = os.environ.get("TF_USE_LEGACY_KERAS")
    tf.keras.__name__  # noqa: B018  (resolves the lazy module under the caller's setting)
    try:
        import tensorflow_model_optimization as tfmot
        from tensorflow_model_optimization.sparsity import keras as _  # noqa: F401  (the submodule tfx_ext uses)
    finally:
        if before is None:
            os.environ.pop("TF_USE_LEGACY_KERAS", None)
        else:
            os.environ["TF_USE_LEGACY_KERAS"] = before
    return tfmot
