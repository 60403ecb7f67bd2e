"""`BasicDecoder`: a cell, a sampler and an optional output layer (TFA's `tfa.seq2seq.BasicDecoder`)."""

import collections

import keras
import tensorflow as tf

from tfx_ext._core.arguments import invalid
from tfx_ext._core.checkpoint_tracking import track_in_checkpoint
from tfx_ext.seq2seq.base_decoder import BaseDecoder
from tfx_ext.seq2seq.base_sampler import Sampler

__all__ = ["BasicDecoder", "BasicDecoderOutput"]


class BasicDecoderOutput(collections.namedtuple("BasicDecoderOutput", ("rnn_output", "sample_id"))):
    """Per-step outputs of `BasicDecoder`: the (projected) cell output and the sampled id."""


def check_cell(cell):
    # dir(), not hasattr(): AttentionWrapper's sizes are properties that need a memory.
    names = dir(cell)
    if (
        not isinstance(cell, keras.layers.Layer)
        or "state_size" not in names
        or "output_size" not in names
    ):
        raise invalid(
            "cell", "an RNN cell layer (with state_size and output_size)", cell, TypeError
        )


def rnn_output_size(cell, output_layer):
    """The per-example shape of the cell output after `output_layer`."""
    size = cell.output_size
    if output_layer is None:
        return (
            tf.nest.map_structure(tf.TensorShape, size)
            if not isinstance(size, int)
            else tf.TensorShape([size])
        )
    shape = output_layer.compute_output_shape((None, size))
    return tf.TensorShape(shape[1:])


@keras.saving.register_keras_serializable(package="tfx_ext")
class BasicDecoder(BaseDecoder):
    """Basic sampling decoder for training and inference (TensorFlow backend).

    Each step runs the cell, applies `output_layer`, asks the sampler for the
    ids and the next inputs.

    Args:
        cell: An RNN cell (`keras.layers.LSTMCell`, `AttentionWrapper`, ...).
        sampler: A `Sampler` (`TrainingSampler`, `GreedyEmbeddingSampler`, ...).
        output_layer: Optional layer applied to the cell output (usually a
            `Dense(vocab_size)` giving logits).
        **kwargs: `BaseDecoder` options (`maximum_iterations`,
            `impute_finished`, `output_time_major`, ...) and layer arguments.

    Call arguments:
        inputs: Training inputs (`TrainingSampler`) or the embedding matrix
            (embedding samplers; `None` with an `embedding_fn`).
        initial_state: The cell's initial state.
        training: Passed to the cell.
        **kwargs: The sampler's `initialize` arguments (`sequence_length`,
            `mask`, `start_tokens`, `end_token`).

    Returns:
        `(BasicDecoderOutput(rnn_output, sample_id), final_state, sequence_lengths)`.

    Example:

    >>> decoder = BasicDecoder(keras.layers.LSTMCell(16), TrainingSampler(),
    ...                        output_layer=keras.layers.Dense(vocab))
    >>> outputs, _, _ = decoder(embedded_targets, initial_state=[h, c])
    >>> outputs.rnn_output.shape  # (batch, time, vocab)
    """

    def __init__(self, cell, sampler, output_layer=None, **kwargs):
        check_cell(cell)
        if not isinstance(sampler, Sampler):
            raise invalid("sampler", "a tfx_ext.seq2seq Sampler", sampler, TypeError)
        if output_layer is not None and not isinstance(output_layer, keras.layers.Layer):
            raise invalid("output_layer", "a Keras layer or None", output_layer, TypeError)
        super().__init__(**kwargs)
        self.cell = cell
        self.sampler = sampler
        self.output_layer = output_layer
        # A sampler is a plain object: its embedding layer is saved through the decoder.
        track_in_checkpoint(self, "sampler_layer", sampler.layers)

    def call(
        self,
        inputs,
        initial_state=None,
        training=None,
        sequence_length=None,
        mask=None,
        start_tokens=None,
        end_token=None,
        **kwargs,
    ):
        # The built-in samplers' arguments are named, not left in **kwargs:
        # Keras binds **kwargs to one argument, and refuses it when it mixes
        # a symbolic tensor (start_tokens) with a Python int (end_token), as
        # the book's functional inference model passes them.
        init_kwargs = dict(kwargs, initial_state=initial_state)
        for name, value in (
            ("sequence_length", sequence_length),
            ("mask", mask),
            ("start_tokens", start_tokens),
            ("end_token", end_token),
        ):
            if value is not None:
                init_kwargs[name] = value
        return self._dynamic_decode(inputs, init_kwargs, training)

    def initialize(self, inputs, initial_state=None, **kwargs):
        """Returns `(finished, first_inputs, initial_state)`."""
        finished, first_inputs = self.sampler.initialize(inputs, **kwargs)
        return finished, first_inputs, initial_state

    @property
    def batch_size(self):
        return self.sampler.batch_size

    @property
    def output_size(self):
        return BasicDecoderOutput(
            rnn_output=rnn_output_size(self.cell, self.output_layer),
            sample_id=self.sampler.sample_ids_shape,
        )

    @property
    def output_dtype(self):
        return BasicDecoderOutput(
            tf.nest.map_structure(
                lambda _: tf.as_dtype(self.compute_dtype),
                rnn_output_size(self.cell, self.output_layer),
            ),
            tf.as_dtype(self.sampler.sample_ids_dtype),
        )

    def step(self, time, inputs, state, training=None):
        """One decoding step: `(outputs, next_state, next_inputs, finished)`."""
        cell_outputs, cell_state = self.cell(inputs, state, training=training)
        cell_state = tf.nest.pack_sequence_as(state, tf.nest.flatten(cell_state))
        if self.output_layer is not None:
            cell_outputs = self.output_layer(cell_outputs)
        sample_ids = self.sampler.sample(time=time, outputs=cell_outputs, state=cell_state)
        finished, next_inputs, next_state = self.sampler.next_inputs(
            time=time, outputs=cell_outputs, state=cell_state, sample_ids=sample_ids
        )
        return BasicDecoderOutput(cell_outputs, sample_ids), next_state, next_inputs, finished

    def get_config(self):
        return {
            **super().get_config(),
            "cell": keras.saving.serialize_keras_object(self.cell),
            "sampler": keras.saving.serialize_keras_object(self.sampler),
            "output_layer": keras.saving.serialize_keras_object(self.output_layer),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("cell", "sampler", "output_layer"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)
