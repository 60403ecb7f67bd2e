"""Teacher forcing: `TrainingSampler` (TFA's `tfa.seq2seq.TrainingSampler`)."""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, invalid
from tfx_ext.seq2seq.base_sampler import Sampler


def _check_sequence_is_right_padded(mask, time_major):
    """Raises (InvalidArgumentError on TensorFlow) unless `mask` is True then False along time."""
    mask = ops.convert_to_tensor(mask)
    if time_major:
        mask = ops.transpose(mask)
    lengths = ops.sum(ops.cast(mask, "int32"), axis=1)
    max_time = ops.shape(mask)[1]
    right_padded = ops.arange(max_time)[None, :] < lengths[:, None]
    ok = ops.all(ops.equal(right_padded, ops.cast(mask, "bool")))
    message = "The input sequence should be right padded."
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # asserts that also work inside graphs

        return tf.debugging.Assert(ok, [message])
    if not bool(ops.convert_to_numpy(ok)):
        raise ValueError(message)
    return None


@keras.saving.register_keras_serializable(package="tfx_ext")
class TrainingSampler(Sampler):
    """A training sampler that simply reads its inputs (teacher forcing).

    Each step's input is the next time slice of the `inputs` given to
    `initialize`; `sample_ids` are the argmax of the outputs. A sequence is
    finished once `time + 1 >= sequence_length`.

    Args:
        time_major: Whether `inputs` are `[time, batch, ...]` (default
            `[batch, time, ...]`).

    Example:

    >>> decoder = BasicDecoder(keras.layers.LSTMCell(8), TrainingSampler())
    >>> outputs, state, lengths = decoder(
    ...     decoder_embeddings, initial_state=encoder_state, sequence_length=lengths)
    """

    def __init__(self, time_major=False):
        check_bool("time_major", time_major)
        self.time_major = time_major
        self._batch_size = None

    def initialize(self, inputs, sequence_length=None, mask=None):
        """Reads the first step; returns `(finished, first_inputs)`.

        Args:
            inputs: A tensor `[batch, time, ...]` (or time major).
            sequence_length: Optional int vector `[batch]`.
            mask: Optional bool `[batch, time]` (right padded), instead of
                `sequence_length`.
        """
        inputs = ops.convert_to_tensor(inputs)
        if not self.time_major:
            inputs = ops.moveaxis(inputs, 1, 0)
        self.inputs = inputs
        self._batch_size = ops.shape(inputs)[1]
        max_time = ops.shape(inputs)[0]
        if sequence_length is not None and mask is not None:
            raise ValueError("sequence_length and mask can't be provided at the same time.")
        if sequence_length is not None:
            sequence_length = ops.cast(ops.convert_to_tensor(sequence_length), "int32")
            if len(sequence_length.shape) != 1:
                raise invalid(
                    "sequence_length", "a vector [batch_size]", tuple(sequence_length.shape)
                )
            self.sequence_length = sequence_length
        elif mask is not None:
            mask = ops.convert_to_tensor(mask)
            if len(mask.shape) != 2:
                raise invalid("mask", "a 2D boolean tensor", tuple(mask.shape))
            if mask.dtype != "bool":
                raise invalid("mask", "a boolean tensor", mask.dtype)
            check = _check_sequence_is_right_padded(mask, self.time_major)
            deps = [check] if check is not None else []
            if deps:
                import tensorflow as tf

                with tf.control_dependencies(deps):
                    mask = tf.identity(mask)
            self.sequence_length = ops.sum(
                ops.cast(mask, "int32"), axis=0 if self.time_major else 1
            )
        else:
            self.sequence_length = ops.full((self._batch_size,), max_time, dtype="int32")
        self.zero_inputs = ops.zeros_like(ops.take(inputs, 0, axis=0))
        finished = ops.equal(0, self.sequence_length)
        return finished, self._read(0, ops.all(finished))

    def _read(self, time, all_finished):
        last = ops.maximum(ops.shape(self.inputs)[0] - 1, 0)
        step = ops.take(self.inputs, ops.minimum(time, last), axis=0)
        return ops.where(all_finished, self.zero_inputs, step)

    def sample(self, time, outputs, state):
        del time, state
        return ops.cast(ops.argmax(outputs, axis=-1), "int32")

    def next_inputs(self, time, outputs, state, sample_ids):
        del outputs, sample_ids
        next_time = time + 1
        finished = next_time >= self.sequence_length
        return finished, self._read(next_time, ops.all(finished)), state

    def get_config(self):
        return {"time_major": self.time_major}
