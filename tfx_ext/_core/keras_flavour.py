"""Which Keras an object belongs to: Keras 3 (`keras`) or Keras 2 (`tf_keras`).

Pruning, quantization and conversion take a different path for tf_keras
models (through tfmot); every module asks this one.
"""

import contextlib
import sys

from tfx_ext._core.private_api import input_shape_argument, set_input_shape_argument


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


@contextlib.contextmanager
def deserialization_scope(objects, tfmot_scope):
    """A Keras custom-object scope for `objects`, plus tfmot's own scope when tf_keras is in use.

    The one body of `prune_scope` and `quantize_scope`. tfmot's scope
    (`tfmot_scope(tfmot)` returns it) is entered only once tf_keras has been
    imported: only then can a tf_keras model exist, and importing tfmot
    costs seconds a Keras 3 user never needs.
    """
    import keras

    with contextlib.ExitStack() as stack:
        stack.enter_context(keras.saving.custom_object_scope(objects))
        if "tf_keras" in sys.modules:
            stack.enter_context(tfmot_scope(import_tfmot()))
        yield


def keep_input_shape(wrapper, layer):
    """Shows `layer`'s deprecated `input_shape=` on `wrapper`, unless the wrapper was given its own.

    `Sequential([Wrapper(Dense(10, input_shape=(784,))), ...])` (tfmot's
    guides) must start with that input, as tfmot's wrappers pass on
    `_batch_input_shape`. Keras 3 builds a Sequential from its first layer's
    `_input_shape_arg`, which `Layer.__init__` keeps from `input_shape=` /
    `input_dim=`; no public accessor exists (Keras 3.15).
    tests/sparsity/test_input_shape.py fails if Keras renames it.
    """
    if input_shape_argument(wrapper) is None:
        shape = input_shape_argument(layer)
        if shape is not None:
            set_input_shape_argument(wrapper, shape)
