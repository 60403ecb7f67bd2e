"""`ModelCheckpoint` that saves the averaged weights (TFA's `AverageModelCheckpoint`)."""

import keras

from tfx_ext._core.arguments import check_bool


def _averaging_optimizer(optimizer):
    """The optimizer that holds the averages, or None.

    `SWA` (anything with `assign_average_vars`) or any Keras optimizer with
    `use_ema=True` (Keras 3's replacement for `tfa.optimizers.MovingAverage`),
    possibly inside a `LossScaleOptimizer`.
    """
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        optimizer = optimizer.inner_optimizer
    if hasattr(optimizer, "assign_average_vars"):
        return optimizer
    if isinstance(optimizer, keras.optimizers.Optimizer) and optimizer.use_ema:
        return optimizer
    return None


def _assign_averages(optimizer, model):
    if hasattr(optimizer, "assign_average_vars"):
        optimizer.assign_average_vars(model.trainable_variables)
    else:
        # Keras's EMA: `finalize_variable_values` overwrites the variables
        # with their moving averages.
        optimizer.finalize_variable_values(model.trainable_variables)


@keras.saving.register_keras_serializable(package="tfx_ext")
class AverageModelCheckpoint(keras.callbacks.ModelCheckpoint):
    """Saves the model with the weights averaged by its optimizer.

    For models trained with `tfx_ext.optimizers.SWA` or with a Keras optimizer
    built with `use_ema=True` (which replaces `tfa.optimizers.MovingAverage`).

    Args:
        update_weights: If True, the averages are assigned to the model (which
            then trains on from them) and saved. If False, the saved model has
            the averages and the model keeps its own weights.
        filepath: Where to save, as in `keras.callbacks.ModelCheckpoint`
            (`.keras`, or `.weights.h5` with `save_weights_only=True`).
        monitor, verbose, save_best_only, save_weights_only, mode, save_freq,
        initial_value_threshold: As in `keras.callbacks.ModelCheckpoint`.

    Raises:
        TypeError: at the start of `fit`, if the model's optimizer keeps no
            averages.

    Example:

    >>> model.compile(optimizer=SWA("sgd", start_averaging=100, average_period=10), loss="mse")
    >>> model.fit(x, y, epochs=5,
    ...           callbacks=[AverageModelCheckpoint(update_weights=False, filepath="swa.keras")])
    """

    def __init__(
        self,
        update_weights,
        filepath,
        monitor="val_loss",
        verbose=0,
        save_best_only=False,
        save_weights_only=False,
        mode="auto",
        save_freq="epoch",
        initial_value_threshold=None,
    ):
        check_bool("update_weights", update_weights)
        self.update_weights = update_weights
        super().__init__(
            filepath,
            monitor=monitor,
            verbose=verbose,
            save_best_only=save_best_only,
            save_weights_only=save_weights_only,
            mode=mode,
            save_freq=save_freq,
            initial_value_threshold=initial_value_threshold,
        )
        self.initial_value_threshold = initial_value_threshold

    def set_model(self, model):
        super().set_model(model)
        if _averaging_optimizer(getattr(model, "optimizer", None)) is None:
            raise TypeError(
                "AverageModelCheckpoint needs a model whose optimizer keeps weight "
                "averages: `tfx_ext.optimizers.SWA`, or a Keras optimizer with "
                f"`use_ema=True`. Received: optimizer={model.optimizer!r}"
            )

    def _save_model(self, epoch, batch, logs):
        optimizer = _averaging_optimizer(self.model.optimizer)
        if self.update_weights:
            _assign_averages(optimizer, self.model)
            return super()._save_model(epoch, batch, logs)
        own_weights = [keras.ops.convert_to_numpy(v) for v in self.model.trainable_variables]
        _assign_averages(optimizer, self.model)
        try:
            return super()._save_model(epoch, batch, logs)
        finally:
            for variable, value in zip(self.model.trainable_variables, own_weights):
                variable.assign(value)

    def get_config(self):
        return {
            "update_weights": self.update_weights,
            "filepath": self.filepath,
            "monitor": self.monitor,
            "verbose": self.verbose,
            "save_best_only": self.save_best_only,
            "save_weights_only": self.save_weights_only,
            "mode": self.mode,
            "save_freq": self.save_freq,
            "initial_value_threshold": self.initial_value_threshold,
        }

    @classmethod
    def from_config(cls, config):
        # keras.callbacks.Callback has no `from_config`; ours has, as the other callbacks here.
        return cls(**config)
