"""A model that puts a CRF on top of a base model and trains it (TFA's `CRFModelWrapper`).

TFA's path `tensorflow_addons/text/crf_wrapper.py`. Prediction (`predict`,
`__call__`) runs on every backend. Training runs its own `train_step` and
`test_step` with the CRF negative log-likelihood as the loss (TFA's design),
written with `tf.GradientTape`: Keras 3's `train_step` is per backend, so
`fit` and `evaluate` need the TensorFlow backend.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.text.crf_scoring import crf_log_likelihood


@keras.saving.register_keras_serializable(package="tfx_ext")
class CRFModelWrapper(keras.Model):
    """Wraps `base_model` with a `tfx_ext.layers.CRF` and trains it by CRF likelihood.

    Args:
        base_model: A Keras model (or layer) mapping the inputs to
            `[batch, time, features]` features for the CRF.
        units: Positive integer, the number of tags.
        chain_initializer, use_boundary, boundary_initializer, use_kernel,
            **kwargs: passed to `tfx_ext.layers.CRF`.

    Call arguments:
        inputs: The base model's inputs.
        training: Passed to the base model.
        mask: Passed to the base model.
        return_crf_internal: If True, returns
            `((potentials, sequence_length, chain_kernel), decoded_sequence)`.

    Returns:
        The decoded tags, int32 `[batch, time]` (0 past each sequence).

    Training (`compile(optimizer)`, `fit(x, y)`): `y` holds the `[batch, time]`
    tag indices; the loss is the mean of `-crf_log_likelihood` (times the
    sample weights), plus the model's own losses. `fit` logs `loss` and
    `crf_loss` of the last batch (as TFA), and compiled metrics on the
    decoded tags.
    """

    def __init__(
        self,
        base_model,
        units,
        chain_initializer="orthogonal",
        use_boundary=True,
        boundary_initializer="zeros",
        use_kernel=True,
        **kwargs,
    ):
        super().__init__()
        # Imported here: tfx_ext.layers.crf imports tfx_ext.text for crf_decode.
        from tfx_ext.layers.crf import CRF

        if not isinstance(base_model, keras.layers.Layer):
            raise invalid(
                "base_model",
                "a Keras model or layer",
                type(base_model).__name__,
                TypeError,
            )
        self.crf_layer = CRF(
            units=units,
            chain_initializer=chain_initializer,
            use_boundary=use_boundary,
            boundary_initializer=boundary_initializer,
            use_kernel=use_kernel,
            **kwargs,
        )
        self.base_model = base_model

    def unpack_training_data(self, data):
        """`(x, y, sample_weight)` from a batch; override for other layouts."""
        if len(data) == 3:
            return data
        x, y = data
        return x, y, None

    def call(self, inputs, training=None, mask=None, return_crf_internal=False):
        features = self.base_model(inputs, training=training, mask=mask)
        decoded_sequence, potentials, sequence_length, kernel = self.crf_layer(features)
        if return_crf_internal:
            return (potentials, sequence_length, kernel), decoded_sequence
        return decoded_sequence

    def compute_crf_loss(self, potentials, sequence_length, kernel, y, sample_weight=None):
        """Mean negative log-likelihood of the tags `y` (weighted by `sample_weight`)."""
        log_likelihood, _ = crf_log_likelihood(potentials, y, sequence_length, kernel)
        loss = -log_likelihood
        if sample_weight is not None:
            loss = loss * ops.cast(ops.reshape(sample_weight, (-1,)), loss.dtype)
        return ops.mean(loss)

    def _total_loss(self, crf_loss):
        if not self.losses:
            return crf_loss
        return crf_loss + ops.cast(ops.sum(ops.stack(self.losses)), crf_loss.dtype)

    def _require_tensorflow(self):
        if keras.backend.backend() != "tensorflow":
            raise NotImplementedError(
                "CRFModelWrapper trains with its own tf.GradientTape train_step: fit and evaluate need "
                f"the TensorFlow backend (running on {keras.backend.backend()!r}). Prediction works on any backend."
            )

    def train_step(self, data):
        self._require_tensorflow()
        import tensorflow as tf

        x, y, sample_weight = self.unpack_training_data(data)
        with tf.GradientTape() as tape:
            (potentials, sequence_length, kernel), decoded_sequence = self(
                x, training=True, return_crf_internal=True
            )
            crf_loss = self.compute_crf_loss(potentials, sequence_length, kernel, y, sample_weight)
            loss = self._total_loss(crf_loss)
            scaled = self.optimizer.scale_loss(loss)
        variables = self.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        logs = self.compute_metrics(x, y, decoded_sequence)
        return {**logs, "loss": loss, "crf_loss": crf_loss}

    def test_step(self, data):
        self._require_tensorflow()
        x, y, sample_weight = self.unpack_training_data(data)
        (potentials, sequence_length, kernel), decoded_sequence = self(
            x, training=False, return_crf_internal=True
        )
        crf_loss = self.compute_crf_loss(potentials, sequence_length, kernel, y, sample_weight)
        logs = self.compute_metrics(x, y, decoded_sequence)
        return {**logs, "loss": self._total_loss(crf_loss), "crf_loss": crf_loss}

    def get_config(self):
        return {
            "base_model": keras.saving.serialize_keras_object(self.base_model),
            **self.crf_layer.get_config(),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        base_model = keras.saving.deserialize_keras_object(config.pop("base_model"))
        return cls(base_model=base_model, **config)
