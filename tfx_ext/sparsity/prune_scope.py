"""`prune_scope`: tfmot's deserialization scope, kept so tfmot's code runs.

tfmot needs `with prune_scope(): keras.models.load_model(path)` to load a
pruned h5 model. Here it is unnecessary: `PruneLowMagnitude`, the schedules
and the callbacks are registered Keras serializables, so
`keras.models.load_model` finds them in `.keras` (and legacy `.h5`) files
on its own. The scope only names our classes in a Keras custom-object scope
and, when tf_keras is in use, also enters tfmot's own `prune_scope`, for
tfmot-pruned tf_keras h5 models loaded with `tf_keras.models.load_model`.
"""

import contextlib

from tfx_ext._core.keras_flavour import deserialization_scope
from tfx_ext.sparsity.prune_low_magnitude import PruneLowMagnitude
from tfx_ext.sparsity.pruning_schedule import ConstantSparsity, PolynomialDecay


@contextlib.contextmanager
def prune_scope():
    """A scope in which pruned models load: not needed with tfx_ext, accepted for tfmot's code.

    `keras.models.load_model(path)` loads a model pruned by
    `tfx_ext.sparsity.prune_low_magnitude` without it. Inside the scope,
    the unregistered names `PruneLowMagnitude`, `ConstantSparsity` and
    `PolynomialDecay` resolve to tfx_ext's classes, and, if tf_keras has been
    imported (a tf_keras model pruned by tfmot), tfmot's `prune_scope` is
    active too, so `tf_keras.models.load_model("pruned.h5")` works as in
    tfmot. Nothing else changes and nothing stays changed after it.

    Example:

    >>> with prune_scope():
    ...     loaded = keras.models.load_model("pruned.keras")
    """
    objects = {
        "PruneLowMagnitude": PruneLowMagnitude,
        "ConstantSparsity": ConstantSparsity,
        "PolynomialDecay": PolynomialDecay,
    }
    with deserialization_scope(objects, lambda tfmot: tfmot.sparsity.keras.prune_scope()):
        yield
