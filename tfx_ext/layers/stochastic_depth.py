"""Stochastic depth for residual blocks.

Replaces `tfa.layers.StochasticDepth` (same call convention and inference
scaling; `mode="row"` adds the per-example variant). Keras 3 core has none.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_number


@keras.saving.register_keras_serializable(package="tfx_ext")
class StochasticDepth(keras.layers.Layer):
    """Randomly drops a residual branch while training (Huang et al., 2016).

    Called on `[shortcut, residual]`, it returns `shortcut + residual` with the
    residual kept with probability `survival_probability` during training, and
    `shortcut + survival_probability * residual` at inference (the expected
    value of the training output).

    Args:
        survival_probability: Probability of keeping the residual branch,
            in `(0, 1]`. Defaults to `0.5`.
        mode: `"batch"` draws one decision for the whole batch (the paper,
            and `tfa.layers.StochasticDepth`); `"row"` draws one per example.
        seed: Optional integer seed for the random decisions.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A list `[shortcut, residual]` of two tensors of the same shape.
        training: Python boolean: drop branches only when `True`.

    Example:

    >>> x = keras.Input((8,))
    >>> residual = keras.layers.Dense(8)(x)
    >>> y = StochasticDepth(survival_probability=0.8)([x, residual])
    """

    def __init__(self, survival_probability=0.5, mode="batch", seed=None, **kwargs):
        super().__init__(**kwargs)
        self.survival_probability = check_number(
            "survival_probability", survival_probability, 0.0, 1.0, low_open=True
        )
        self.mode = check_choice("mode", mode, ("batch", "row"))
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _check_inputs(self, shapes):
        if (
            not isinstance(shapes, (list, tuple))
            or len(shapes) != 2
            or not all(isinstance(s, (list, tuple)) for s in shapes)
        ):
            raise ValueError(
                "StochasticDepth expects a list [shortcut, residual] of two "
                f"tensors. Received: {shapes}"
            )
        shortcut, residual = (tuple(s) for s in shapes)
        if len(shortcut) != len(residual) or any(
            a is not None and b is not None and a != b for a, b in zip(shortcut, residual)
        ):
            raise ValueError(
                "StochasticDepth expects shortcut and residual of the same "
                f"shape. Received: shortcut={shortcut}, residual={residual}"
            )

    def build(self, input_shape):
        self._check_inputs(input_shape)

    def call(self, inputs, training=False):
        shortcut, residual = inputs
        p = self.survival_probability
        if not training:
            return shortcut + p * residual
        if self.mode == "batch":
            keep_shape = ()
        else:
            keep_shape = (ops.shape(residual)[0],) + (1,) * (len(residual.shape) - 1)
        uniform = keras.random.uniform(keep_shape, seed=self.seed_generator, dtype=residual.dtype)
        keep = ops.cast(uniform < p, residual.dtype)
        return shortcut + keep * residual

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {
            **super().get_config(),
            "survival_probability": self.survival_probability,
            "mode": self.mode,
            "seed": self.seed,
        }
