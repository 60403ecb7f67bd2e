"""Linear-chain conditional random field layer (TFA's `tfa.layers.CRF`).

Keras 3 core has no CRF. The layer is `keras.ops` (its decoding is
`tfx_ext.text.crf_decode`), so it runs on every backend; train it with
`tfx_ext.text.CRFModelWrapper` or with `tfx_ext.text.crf_log_likelihood` on its
outputs.
"""

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import check_int, invalid
from tfx_ext.text.crf_decoding import crf_decode


def _length_dtype():
    # TFA returns int64 lengths; JAX without x64 has no int64 and would warn.
    return "int64" if keras.backend.backend() == "tensorflow" else "int32"


def _concrete_all(values):
    """`all(values)` when the values are concrete (eager), else None (traced)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            return None
    try:
        return bool(np.all(ops.convert_to_numpy(values)))
    except Exception:  # noqa: BLE001 (a traced value, any backend: nothing concrete to check)
        return None


def _check_bool(name, value):
    if not isinstance(value, (bool, np.bool_)):
        raise invalid(name, "a boolean", value, TypeError)
    return bool(value)


@keras.saving.register_keras_serializable(package="tfx_ext")
class CRF(keras.layers.Layer):
    """Linear chain conditional random field (CRF).

    Projects its inputs to per-tag potentials (a `Dense(units)` unless
    `use_kernel=False`), adds learned start/end energies (`use_boundary`),
    and Viterbi-decodes with the learned transition matrix `chain_kernel`.

    Args:
        units: Positive integer, the number of tags.
        chain_initializer: Initializer of the `[units, units]` transition
            matrix. Defaults to `"orthogonal"`.
        use_boundary: Whether to learn start (`left_boundary`) and end
            (`right_boundary`) energies per tag. Defaults to `True`.
        boundary_initializer: Initializer of the boundary vectors. Defaults
            to `"zeros"`.
        use_kernel: Whether to project the inputs with a `Dense(units)`
            first; if `False`, the inputs are the potentials (their last axis
            must be `units`). Defaults to `True`.

    Call arguments:
        inputs: A `[batch_size, max_seq_len, features]` tensor.
        mask: A boolean `[batch_size, max_seq_len]` tensor or `None`; only
            right padding is supported.

    Returns:
        `[decoded_sequence, potentials, sequence_length, chain_kernel]`:
        int32 `[batch, time]` best tags (0 past each length), the
        `[batch, time, units]` potentials, the `[batch]` lengths (int64 on
        TensorFlow, int32 on JAX), and the `[units, units]` transitions.

    Example:

    >>> layer = tfx_ext.layers.CRF(4)
    >>> inputs = np.random.rand(2, 4, 8).astype(np.float32)
    >>> decoded_sequence, potentials, sequence_length, chain_kernel = layer(inputs)
    >>> decoded_sequence.shape
    TensorShape([2, 4])
    """

    def __init__(
        self,
        units,
        chain_initializer="orthogonal",
        use_boundary=True,
        boundary_initializer="zeros",
        use_kernel=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.units = check_int("units", units, minimum=1)
        self.use_boundary = _check_bool("use_boundary", use_boundary)
        self.use_kernel = _check_bool("use_kernel", use_kernel)
        self.chain_initializer = keras.initializers.get(chain_initializer)
        self.boundary_initializer = keras.initializers.get(boundary_initializer)
        self.input_spec = keras.layers.InputSpec(ndim=3)
        self._dense_layer = (
            keras.layers.Dense(units, dtype=self.dtype_policy) if self.use_kernel else None
        )

    def build(self, input_shape):
        if not self.use_kernel and input_shape[-1] not in (None, self.units):
            raise invalid(
                "inputs",
                f"potentials with last axis units={self.units} (use_kernel=False)",
                f"shape {input_shape}",
            )
        self.chain_kernel = self.add_weight(
            shape=(self.units, self.units),
            name="chain_kernel",
            initializer=self.chain_initializer,
        )
        if self.use_boundary:
            self.left_boundary = self.add_weight(
                shape=(self.units,),
                name="left_boundary",
                initializer=self.boundary_initializer,
            )
            self.right_boundary = self.add_weight(
                shape=(self.units,),
                name="right_boundary",
                initializer=self.boundary_initializer,
            )
        if self._dense_layer is not None:
            self._dense_layer.build(input_shape)

    def call(self, inputs, mask=None):
        if mask is not None:
            if len(mask.shape) != 2:
                raise ValueError("Input mask to CRF must have dim 2 if not None")
            if _concrete_all(ops.cast(mask, "bool")[:, 0]) is False:
                raise NotImplementedError("Currently, CRF layer do not support left padding")
        if self._dense_layer is not None:
            potentials = self._dense_layer(inputs)
        else:
            potentials = ops.cast(inputs, self.compute_dtype)
        if self.use_boundary:
            potentials = self.add_boundary_energy(
                potentials, mask, self.left_boundary, self.right_boundary
            )
        sequence_length = self._get_sequence_length(inputs, mask)
        decoded_sequence, _ = self.get_viterbi_decoding(potentials, sequence_length)
        return [
            decoded_sequence,
            potentials,
            sequence_length,
            ops.convert_to_tensor(self.chain_kernel),
        ]

    def _get_sequence_length(self, inputs, mask):
        if mask is not None:
            return self.mask_to_sequence_length(mask)
        shape = ops.shape(inputs)
        return ops.full((shape[0],), shape[1], dtype=_length_dtype())

    def mask_to_sequence_length(self, mask):
        """The number of True steps of each row of `mask`."""
        return ops.sum(ops.cast(mask, _length_dtype()), axis=1)

    @staticmethod
    def _compute_mask_right_boundary(mask):
        """0011100 -> 0000100: the last step of each sequence."""
        mask = ops.cast(mask, "int32")
        shifted = ops.concatenate([mask[:, 1:], ops.zeros_like(mask[:, :1])], axis=1)
        return ops.greater(mask, shifted)

    @staticmethod
    def _compute_mask_left_boundary(mask):
        """0011100 -> 0010000: the first step of each sequence."""
        mask = ops.cast(mask, "int32")
        shifted = ops.concatenate([ops.zeros_like(mask[:, :1]), mask[:, :-1]], axis=1)
        return ops.greater(mask, shifted)

    def add_boundary_energy(self, potentials, mask, start, end):
        """Adds `start` to each sequence's first step and `end` to its last."""
        start = ops.reshape(ops.cast(start, potentials.dtype), (1, 1, -1))
        end = ops.reshape(ops.cast(end, potentials.dtype), (1, 1, -1))
        if mask is None:
            potentials = ops.concatenate([potentials[:, :1] + start, potentials[:, 1:]], axis=1)
            return ops.concatenate([potentials[:, :-1], potentials[:, -1:] + end], axis=1)
        start_mask = ops.expand_dims(
            ops.cast(self._compute_mask_left_boundary(mask), potentials.dtype), -1
        )
        end_mask = ops.expand_dims(
            ops.cast(self._compute_mask_right_boundary(mask), potentials.dtype), -1
        )
        return potentials + start_mask * start + end_mask * end

    def get_viterbi_decoding(self, potentials, sequence_length):
        """`crf_decode` with the layer's transitions: `(decode_tags, best_score)`."""
        return crf_decode(potentials, self.chain_kernel, sequence_length)

    def compute_output_spec(self, inputs, mask=None):
        batch, time = inputs.shape[0], inputs.shape[1]
        return [
            keras.KerasTensor((batch, time), dtype="int32"),
            keras.KerasTensor((batch, time, self.units), dtype=self.compute_dtype),
            keras.KerasTensor((batch,), dtype=_length_dtype()),
            # Read under the layer's autocast scope: the compute dtype.
            keras.KerasTensor((self.units, self.units), dtype=self.compute_dtype),
        ]

    def compute_mask(self, inputs, mask=None):
        return mask

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "chain_initializer": keras.initializers.serialize(self.chain_initializer),
            "use_boundary": self.use_boundary,
            "boundary_initializer": keras.initializers.serialize(self.boundary_initializer),
            "use_kernel": self.use_kernel,
        }
