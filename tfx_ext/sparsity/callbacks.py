"""Callbacks that drive pruning: `UpdatePruningStep` and `PruningSummaries`."""

import warnings

import keras

from tfx_ext.sparsity.masks import fraction_zero
from tfx_ext.sparsity.model_pruning import is_tf_keras, pruning_wrappers


class _TfKerasCallbackHooks:
    """tf_keras's `fit` asks its callbacks which batch hooks they implement."""

    def _implements_train_batch_hooks(self):
        return True

    def _implements_test_batch_hooks(self):
        return False

    def _implements_predict_batch_hooks(self):
        return False


@keras.saving.register_keras_serializable(package="tfx_ext")
class UpdatePruningStep(_TfKerasCallbackHooks, keras.callbacks.Callback):
    """Advances the pruning step, updates masks on schedule, keeps pruned weights at zero.

    Required while training a model with pruning wrappers (`fit` raises a
    clear error without it). Before each batch, when a wrapper's schedule says
    so, it recomputes that wrapper's masks from the current magnitudes (the
    masks themselves are re-applied after every optimizer update by the
    wrapper). The step starts at the optimizer's iteration count, so resuming training
    continues the schedule. With a custom loop, call `set_model`,
    `on_train_begin`, `on_train_batch_begin` and `on_train_batch_end`
    yourself. With a tf_keras model (pruned by tfmot), it drives tfmot's own
    `UpdatePruningStep`, so the same callback serves both stacks.

    Example:

    >>> pruned.fit(x, y, epochs=5, callbacks=[UpdatePruningStep()])
    """

    def on_train_begin(self, logs=None):
        self._tfmot = None
        if is_tf_keras(self.model):
            from tensorflow_model_optimization.sparsity import keras as tfmot_sparsity

            self._tfmot = tfmot_sparsity.UpdatePruningStep()
            self._tfmot.set_model(self.model)
            self._tfmot.on_train_begin(logs)
            return
        self.wrappers = pruning_wrappers(self.model)
        if not self.wrappers:
            warnings.warn("UpdatePruningStep: the model has no PruneLowMagnitude layer; nothing to prune.", stacklevel=2)
        for wrapper in self.wrappers:
            wrapper.step_callback_attached = True
        optimizer = getattr(self.model, "optimizer", None)
        self.step = int(keras.ops.convert_to_numpy(optimizer.iterations)) if optimizer is not None else 0

    def on_train_batch_begin(self, batch, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_train_batch_begin(batch, logs)
        for wrapper in self.wrappers:
            should_prune, sparsity = wrapper.pruning_schedule(self.step)
            if should_prune or wrapper.sparsity_m_by_n is not None and self.step == 0:
                wrapper.pruning_step.assign(self.step)
                wrapper.update_masks(sparsity)

    def on_epoch_end(self, epoch, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_epoch_end(epoch, logs)
        for wrapper in self.wrappers:
            wrapper.pruning_step.assign(self.step - 1)

    def on_train_batch_end(self, batch, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_train_batch_end(batch, logs)
        self.step += 1

    def on_train_end(self, logs=None):
        if self._tfmot is not None:
            return
        for wrapper in self.wrappers:
            wrapper.step_callback_attached = False

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
class PruningSummaries(_TfKerasCallbackHooks, keras.callbacks.Callback):
    """Writes each pruned layer's sparsity to TensorBoard at the end of every epoch.

    Scalars `pruning/<layer>/sparsity` (fraction of zeros in its pruned
    weights) and `pruning/total_sparsity`. Uses `tf.summary`, so it needs the
    TensorFlow backend. Pair it with `UpdatePruningStep`.

    Args:
        log_dir: Directory of the TensorBoard event files.

    Example:

    >>> callbacks = [UpdatePruningStep(), PruningSummaries(log_dir="logs")]
    """

    def __init__(self, log_dir):
        super().__init__()
        if not isinstance(log_dir, str) or not log_dir:
            raise TypeError(
                f"Invalid value received for argument `log_dir`. Expected a directory path. Received: log_dir={log_dir!r}"
            )
        self.log_dir = log_dir
        self._writer = None

    def on_train_begin(self, logs=None):
        import tensorflow as tf

        if is_tf_keras(self.model):
            raise TypeError(
                "PruningSummaries reads Keras 3 pruning wrappers; for a tf_keras model use "
                "tensorflow_model_optimization.sparsity.keras.PruningSummaries(log_dir)."
            )
        self._writer = tf.summary.create_file_writer(self.log_dir)

    def on_epoch_end(self, epoch, logs=None):
        zeros = total = 0
        with self._writer.as_default():
            for wrapper in pruning_wrappers(self.model):
                layer_zeros = layer_total = 0
                for weight in wrapper.pruned_weights:
                    size = 1
                    for d in weight.shape:
                        size *= d
                    layer_zeros += fraction_zero(weight) * size
                    layer_total += size
                _write_scalar(f"pruning/{wrapper.layer.name}/sparsity", layer_zeros / layer_total, step=epoch)
                zeros += layer_zeros
                total += layer_total
            if total:
                _write_scalar("pruning/total_sparsity", zeros / total, step=epoch)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()

    def get_config(self):
        return {"log_dir": self.log_dir}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
