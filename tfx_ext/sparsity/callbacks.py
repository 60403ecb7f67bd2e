"""Callbacks that drive pruning: `UpdatePruningStep` and `PruningSummaries`.

Both accept tfmot's calling forms, so tfmot's custom-training-loop recipe
runs unchanged: `set_model(model)`, `on_train_begin()`,
`on_epoch_begin(epoch=...)`, `on_train_batch_begin(batch=...)` and tfmot's
`on_epoch_end(batch=...)` (tfmot names that argument `batch`; Keras passes
the epoch positionally). With a tf_keras model (pruned by tfmot) each one
hands every hook to tfmot's callback of the same name.
"""

import warnings

import keras

from tfx_ext._core.arguments import invalid
from tfx_ext._core.keras_flavour import import_tfmot
from tfx_ext._core.private_api import implements_batch_hooks
from tfx_ext._core.protocols import PruningStepOwner
from tfx_ext.sparsity.masks import fraction_zero
from tfx_ext.sparsity.model_pruning import is_tf_keras, pruning_wrappers


def _epoch_argument(epoch, batch):
    """tfmot's `on_epoch_end(batch, logs=None)` names the epoch `batch`."""
    if epoch is not None and batch is not None:
        raise TypeError(
            "on_epoch_end() got both `epoch` and tfmot's name for it, `batch`: pass one."
        )
    return batch if epoch is None else epoch


class _PruningCallback(keras.callbacks.Callback):
    """Hooks shared by the pruning callbacks.

    `set_model` decides the stack once: for a tf_keras model,
    `_make_tfmot_callback()` builds tfmot's callback and every hook below
    goes to it; otherwise the `_keras_*` methods of the subclass run. The
    `_implements_*_batch_hooks` methods are what tf_keras's `fit` asks its
    callbacks.
    """

    def __init__(self):
        super().__init__()
        self._tfmot = None

    def _make_tfmot_callback(self):
        raise NotImplementedError

    def set_model(self, model):
        super().set_model(model)
        self._tfmot = None
        if is_tf_keras(model):
            self._tfmot = self._make_tfmot_callback()
            if self.params is not None:
                self._tfmot.set_params(self.params)
            self._tfmot.set_model(model)

    def set_params(self, params):
        super().set_params(params)
        if self._tfmot is not None:
            self._tfmot.set_params(params)

    def _implements_train_batch_hooks(self):
        return True

    def _implements_test_batch_hooks(self):
        return self._tfmot is not None and implements_batch_hooks(self._tfmot, "test")

    def _implements_predict_batch_hooks(self):
        return self._tfmot is not None and implements_batch_hooks(self._tfmot, "predict")

    def on_train_begin(self, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_train_begin(logs)
        self._keras_train_begin()

    def on_epoch_begin(self, epoch=None, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_epoch_begin(epoch, logs)
        self._keras_epoch_begin()

    def on_train_batch_begin(self, batch=None, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_train_batch_begin(batch, logs)

    def on_train_batch_end(self, batch=None, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_train_batch_end(batch, logs)

    def on_epoch_end(self, epoch=None, logs=None, *, batch=None):
        epoch = _epoch_argument(epoch, batch)
        if self._tfmot is not None:
            return self._tfmot.on_epoch_end(epoch, logs)
        self._keras_epoch_end()

    def on_train_end(self, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_train_end(logs)
        self._keras_train_end()

    def on_test_begin(self, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_test_begin(logs)

    def on_test_end(self, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_test_end(logs)

    def on_test_batch_begin(self, batch=None, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_test_batch_begin(batch, logs)

    def on_test_batch_end(self, batch=None, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_test_batch_end(batch, logs)

    def on_predict_begin(self, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_predict_begin(logs)

    def on_predict_end(self, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_predict_end(logs)

    def on_predict_batch_begin(self, batch=None, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_predict_batch_begin(batch, logs)

    def on_predict_batch_end(self, batch=None, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_predict_batch_end(batch, logs)

    def _keras_train_begin(self):
        pass

    def _keras_epoch_begin(self):
        pass

    def _keras_epoch_end(self):
        pass

    def _keras_train_end(self):
        pass

    def _wrappers(self):
        if self.model is None:
            raise RuntimeError(
                f"{type(self).__name__} has no model: call `set_model(model)` first "
                "(fit does it; a custom training loop must)."
            )
        return [w for w in pruning_wrappers(self.model) if isinstance(w, PruningStepOwner)]


@keras.saving.register_keras_serializable(package="tfx_ext")
class UpdatePruningStep(_PruningCallback):
    """tfmot's callback: starts the pruning step and re-applies masks at each epoch end.

    Optional with Keras 3 models: each `PruneLowMagnitude` wrapper advances
    its own step and updates its masks inside its training call, so pruning
    is right without it. As in tfmot, it sets the step of never-trained
    wrappers to 0 when training begins, and at the end of every epoch (and
    of training) it multiplies the pruned weights by their masks, so a model
    saved then holds exact zeros on every backend. With a custom loop call
    `set_model`, `on_train_begin` and `on_epoch_end` yourself, in tfmot's
    forms (`on_train_batch_begin(batch=...)` and `on_epoch_end(batch=...)`
    are accepted). With a tf_keras model (pruned by tfmot), it drives
    tfmot's own `UpdatePruningStep`, so the same callback serves both stacks.

    Example:

    >>> pruned.fit(x, y, epochs=5, callbacks=[UpdatePruningStep()])
    """

    def _make_tfmot_callback(self):
        tfmot_sparsity = import_tfmot().sparsity.keras

        return tfmot_sparsity.UpdatePruningStep()

    def _keras_train_begin(self):
        wrappers = self._wrappers()
        if not wrappers:
            warnings.warn(
                "UpdatePruningStep: the model has no PruneLowMagnitude layer; nothing to prune.",
                stacklevel=3,
            )
        for wrapper in wrappers:
            if int(keras.ops.convert_to_numpy(wrapper.pruning_step)) == -1:
                wrapper.pruning_step.assign(0)

    def _keras_epoch_end(self):
        for wrapper in self._wrappers():
            wrapper.apply_masks()

    def _keras_train_end(self):
        self._keras_epoch_end()

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _write_scalar(tag, value, step):
    """`tf.summary.scalar` without TensorBoard installed (TensorFlow 2.21 no longer pulls it in).

    Writes the same record: a float32 tensor with the "scalars" plugin metadata.
    """
    import tensorflow as tf

    metadata = tf.compat.v1.SummaryMetadata(
        plugin_data=tf.compat.v1.SummaryMetadata.PluginData(plugin_name="scalars"),
        data_class=1,  # DATA_CLASS_SCALAR
    )
    return tf.summary.write(tag, tf.constant(value, tf.float32), step=step, metadata=metadata)


@keras.saving.register_keras_serializable(package="tfx_ext")
class PruningSummaries(_PruningCallback):
    """Writes each pruned layer's sparsity to TensorBoard as training goes.

    Scalars `pruning/<layer>/sparsity` (fraction of zeros in its pruned
    weights) and `pruning/total_sparsity`, against the training step (the
    wrappers' pruning step; 0 before training), as tfmot plots them against
    the optimizer's iterations. Written at the beginning of every epoch (when
    tfmot writes, so tfmot's custom loop, which only calls
    `on_epoch_begin`, logs too) and at its end (so the last epoch shows);
    a step already written is not written again. Uses `tf.summary`, so it
    needs the TensorFlow backend. Pair it with `UpdatePruningStep`. With a
    tf_keras model it runs tfmot's `PruningSummaries` (its tags and
    `<log_dir>/metrics` layout).

    Args:
        log_dir: Directory of the TensorBoard event files.

    Example:

    >>> callbacks = [UpdatePruningStep(), PruningSummaries(log_dir="logs")]
    """

    def __init__(self, log_dir):
        super().__init__()
        if not isinstance(log_dir, str) or not log_dir:
            # ValueError for any bad value, as tfmot.
            raise invalid("log_dir", "a non-empty directory path", log_dir)
        self.log_dir = log_dir
        self._writer = None
        self._last_step = None

    def _make_tfmot_callback(self):
        tfmot_sparsity = import_tfmot().sparsity.keras

        return tfmot_sparsity.PruningSummaries(log_dir=self.log_dir)

    def _keras_train_begin(self):
        self._last_step = None

    def _keras_epoch_begin(self):
        self._log()

    def _keras_epoch_end(self):
        self._log()

    def _keras_train_end(self):
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def _log(self):
        import tensorflow as tf

        wrappers = self._wrappers()
        if not wrappers:
            return
        step = max(max(int(keras.ops.convert_to_numpy(w.pruning_step)) for w in wrappers), 0)
        if step == self._last_step:
            return
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        zeros = total = 0
        with self._writer.as_default():
            for wrapper in wrappers:
                layer_zeros = layer_total = 0
                for weight in wrapper.pruned_weights:
                    size = 1
                    for d in weight.shape:
                        size *= d
                    layer_zeros += fraction_zero(weight) * size
                    layer_total += size
                if layer_total:
                    _write_scalar(
                        f"pruning/{wrapper.layer.name}/sparsity",
                        layer_zeros / layer_total,
                        step=step,
                    )
                zeros += layer_zeros
                total += layer_total
            if total:
                _write_scalar("pruning/total_sparsity", zeros / total, step=step)
        self._writer.flush()
        self._last_step = step

    def get_config(self):
        return {"log_dir": self.log_dir}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
