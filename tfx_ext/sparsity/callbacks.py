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
    """tfmot's callback: starts the pruning step and re-applies masks at each epoch end.

    Optional with Keras 3 models: each `PruneLowMagnitude` wrapper advances
    its own step and updates its masks inside its training call, so pruning
    is right without it. As in tfmot, it sets the step of never-trained
    wrappers to 0 when training begins, and at the end of every epoch (and
    of training) it multiplies the pruned weights by their masks, so a model
    saved then holds exact zeros on every backend. With a custom loop call
    `set_model`, `on_train_begin` and `on_epoch_end` yourself (tfmot's
    documented sequence also calls `on_train_batch_begin`, which is
    accepted). With a tf_keras model (pruned by tfmot), it drives tfmot's own
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
            if hasattr(wrapper, "pruning_step") and int(keras.ops.convert_to_numpy(wrapper.pruning_step)) == -1:
                wrapper.pruning_step.assign(0)

    def on_train_batch_begin(self, batch, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_train_batch_begin(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self._tfmot is not None:
            return self._tfmot.on_epoch_end(epoch, logs)
        self._apply_masks()

    def on_train_end(self, logs=None):
        if self._tfmot is not None:
            return
        self._apply_masks()

    def _apply_masks(self):
        for wrapper in self.wrappers:
            if hasattr(wrapper, "pruning_step"):
                wrapper.apply_masks()

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
            # ValueError for any bad value, as tfmot.
            raise ValueError(
                f"Invalid value received for argument `log_dir`. Expected a non-empty directory path. "
                f"Received: log_dir={log_dir!r}"
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
