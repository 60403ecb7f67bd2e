"""`BeamSearchDecoder` (TFA's `tfa.seq2seq.BeamSearchDecoder`), TensorFlow backend.

The step math is `keras.ops` (`beam_search_step.py`); the loop is
`dynamic_decode`'s `tf.while_loop`, and the reshapes between
`[batch * beam, ...]` (what the cell sees) and `[batch, beam, ...]` (what
the search sees) keep dynamic batch sizes, as serving signatures need.

This is also TFA's module path `tfa.seq2seq.beam_search_decoder`: the
result containers, `tile_batch`, `gather_tree`, `gather_tree_from_array`
and the attention-probability functions are importable from here (the same
objects as `tfx_ext.seq2seq.X`). TFA's `BeamSearchDecoderMixin` is not
provided (its methods are `BeamSearchDecoder`'s).
"""

import keras
import numpy as np
import tensorflow as tf

from tfx_ext._core.arguments import check_bool, check_int, check_number, invalid
from tfx_ext.seq2seq.base_decoder import BaseDecoder
from tfx_ext.seq2seq.base_sampler import deserialize_callable, embedding_lookup, serialize_callable
from tfx_ext.seq2seq.basic_decoder import check_cell, rnn_output_size
from tfx_ext.seq2seq.beam_search_step import (
    BeamSearchDecoderOutput,
    BeamSearchDecoderState,
    FinalBeamSearchDecoderOutput,
    attention_probs_from_attn_state,
    beam_search_step,
    get_attention_probs,
)
from tfx_ext.seq2seq.gather_tree import gather_tree, gather_tree_from_array
from tfx_ext.seq2seq.tile_batch import tile_batch

__all__ = [
    "BeamSearchDecoder",
    "BeamSearchDecoderOutput",
    "BeamSearchDecoderState",
    "FinalBeamSearchDecoderOutput",
    "attention_probs_from_attn_state",
    "gather_tree",
    "gather_tree_from_array",
    "get_attention_probs",
    "tile_batch",
]


@keras.saving.register_keras_serializable(package="tfx_ext")
class BeamSearchDecoder(BaseDecoder):
    """Beam search decoder.

    With an `AttentionWrapper` cell: tile the memory (and its lengths) with
    `tile_batch(memory, beam_width)` (not `tf.tile`), call
    `get_initial_state(batch_size=batch_size * beam_width)` and tile the
    encoder state the same way.

    Args:
        cell: An RNN cell.
        beam_width: Positive int, the number of beams.
        embedding_fn: Optional callable from ids to inputs (e.g. a
            `keras.layers.Embedding`); else pass the embedding matrix at call.
        output_layer: Optional layer giving the logits from the cell output.
        length_penalty_weight: Float >= 0; GNMT length penalty weight.
        coverage_penalty_weight: Float >= 0; GNMT coverage penalty weight
            (needs an attentional cell).
        reorder_tensor_arrays: Reorder `TensorArray`s in the final cell
            state (alignment history) along the chosen beams.
        output_all_scores: Output the scores of every token.
        **kwargs: `BaseDecoder` options (`maximum_iterations`,
            `output_time_major`, ...) and layer arguments.

    Call arguments:
        embedding: The embedding matrix, or None with `embedding_fn`.
        start_tokens: int `[batch_size]`.
        end_token: int scalar.
        initial_state: The cell state for `batch_size * beam_width` rows.
        training: Passed to the cell.

    Returns:
        `(FinalBeamSearchDecoderOutput, BeamSearchDecoderState, lengths)`;
        `predicted_ids` is `[batch, time, beam_width]`, best beam first.

    Example:

    >>> decoder = BeamSearchDecoder(cell, beam_width=4, output_layer=dense,
    ...                             maximum_iterations=12)
    >>> outputs, _, _ = decoder(embedding, start_tokens=starts, end_token=eos,
    ...                         initial_state=tile_batch(state, 4))
    >>> best = outputs.predicted_ids[:, :, 0]
    """

    def __init__(
        self,
        cell,
        beam_width,
        embedding_fn=None,
        output_layer=None,
        length_penalty_weight=0.0,
        coverage_penalty_weight=0.0,
        reorder_tensor_arrays=True,
        output_all_scores=False,
        **kwargs,
    ):
        check_cell(cell)
        beam_width = check_int("beam_width", beam_width, minimum=1)
        if embedding_fn is not None and not callable(embedding_fn):
            raise invalid("embedding_fn", "a callable or None", embedding_fn, TypeError)
        if output_layer is not None and not isinstance(output_layer, keras.layers.Layer):
            raise invalid("output_layer", "a Keras layer or None", output_layer, TypeError)
        check_number("length_penalty_weight", length_penalty_weight, low=0)
        check_number("coverage_penalty_weight", coverage_penalty_weight, low=0)
        for name, value in (
            ("reorder_tensor_arrays", reorder_tensor_arrays),
            ("output_all_scores", output_all_scores),
        ):
            check_bool(name, value)
        super().__init__(**kwargs)
        self.cell = cell
        self.beam_width = beam_width
        self.embedding_fn = embedding_fn
        self.output_layer = output_layer
        self.length_penalty_weight = float(length_penalty_weight)
        self.coverage_penalty_weight = float(coverage_penalty_weight)
        self.reorder_tensor_arrays = reorder_tensor_arrays
        self.output_all_scores = output_all_scores
        self._batch_size = None
        self._end_token = None

    # -- shapes -----------------------------------------------------------
    @property
    def batch_size(self):
        return self._batch_size

    @property
    def tracks_own_finished(self):
        """Beams are reshuffled each step, so the decoder tracks its own finished flags."""
        return True

    @property
    def output_size(self):
        vocab = rnn_output_size(self.cell, self.output_layer)[-1]
        scores = [self.beam_width, vocab] if self.output_all_scores else [self.beam_width]
        return BeamSearchDecoderOutput(
            scores=tf.TensorShape(scores),
            predicted_ids=tf.TensorShape([self.beam_width]),
            parent_ids=tf.TensorShape([self.beam_width]),
        )

    @property
    def output_dtype(self):
        dtype = tf.nest.flatten(self._initial_cell_state)[0].dtype
        return BeamSearchDecoderOutput(scores=dtype, predicted_ids=tf.int32, parent_ids=tf.int32)

    def _merge(self, t):
        """`[batch, beam, ...]` -> `[batch * beam, ...]` (tensors of rank >= 2)."""
        if not tf.is_tensor(t) or t.shape.ndims is None or t.shape.ndims < 2:
            return t
        inner = [d if d is not None else tf.shape(t)[i + 2] for i, d in enumerate(t.shape[2:])]
        return tf.reshape(t, [-1] + inner)

    def _split(self, t):
        """`[batch * beam, ...]` -> `[batch, beam, ...]` (tensors of rank >= 1)."""
        if not tf.is_tensor(t) or t.shape.ndims is None or t.shape.ndims < 1:
            return t
        static_batch = tf.get_static_value(self._batch_size)
        rows = t.shape[0]
        if static_batch is not None and rows is not None and rows != static_batch * self.beam_width:
            raise ValueError(
                "Unexpected behavior when reshaping between beam width and batch size. "
                f"The tensor has {rows} rows; expected batch_size * beam_width = "
                f"{static_batch} * {self.beam_width}. Perhaps you forgot to call "
                "get_initial_state with batch_size=encoder_batch_size * beam_width, "
                "or to tile the memory and state with tile_batch?"
            )
        inner = [d if d is not None else tf.shape(t)[i + 1] for i, d in enumerate(t.shape[1:])]
        return tf.reshape(t, [-1, self.beam_width] + inner)

    # -- decoding ---------------------------------------------------------
    def call(self, embedding, start_tokens, end_token, initial_state, training=None, **kwargs):
        init_kwargs = dict(
            kwargs, start_tokens=start_tokens, end_token=end_token, initial_state=initial_state
        )
        return self._dynamic_decode(embedding, init_kwargs, training)

    def initialize(self, embedding, start_tokens, end_token, initial_state):
        """Returns `(finished, start_inputs, initial BeamSearchDecoderState)`."""
        if embedding is not None:
            self._embed = embedding_lookup(embedding)
        elif self.embedding_fn is not None:
            self._embed = self.embedding_fn
        else:
            raise ValueError(
                "You should either pass an embedding variable when calling the "
                "BeamSearchDecoder or set embedding_fn in the constructor."
            )
        start_tokens = tf.convert_to_tensor(start_tokens, dtype=tf.int32)
        if start_tokens.shape.ndims != 1:
            raise ValueError("start_tokens must be a vector")
        self._end_token = tf.convert_to_tensor(end_token, dtype=tf.int32)
        if self._end_token.shape.ndims != 0:
            raise ValueError("end_token must be a scalar")
        self._batch_size = tf.size(start_tokens)
        self._initial_cell_state = tf.nest.map_structure(self._split, initial_state)
        self._start_tokens = tf.tile(start_tokens[:, None], [1, self.beam_width])
        self._start_inputs = self._embed(self._start_tokens)
        # Only beam 0 is alive at first: the others are "finished" with
        # log-prob -inf, so the first step expands a single hypothesis.
        first_beam = tf.one_hot(tf.zeros([self._batch_size], tf.int32), depth=self.beam_width)
        finished = tf.logical_not(tf.cast(first_beam, tf.bool))
        dtype = tf.nest.flatten(self._initial_cell_state)[0].dtype
        log_probs = tf.where(first_beam > 0, tf.zeros([], dtype), tf.constant(-np.inf, dtype))
        attention_probs = get_attention_probs(
            self._initial_cell_state, self.coverage_penalty_weight
        )
        state = BeamSearchDecoderState(
            cell_state=self._initial_cell_state,
            log_probs=log_probs,
            finished=finished,
            lengths=tf.zeros([self._batch_size, self.beam_width], dtype=tf.int64),
            accumulated_attention_probs=() if attention_probs is None else attention_probs,
        )
        return finished, self._start_inputs, state

    def step(self, time, inputs, state, training=None):
        """One beam step: `(BeamSearchDecoderOutput, next_state, next_inputs, finished)`."""
        inputs = tf.nest.map_structure(self._merge, inputs)
        cell_state = tf.nest.map_structure(self._merge, state.cell_state)
        cell_outputs, next_cell_state = self.cell(inputs, cell_state, training=training)
        cell_outputs = tf.nest.map_structure(self._split, cell_outputs)
        next_cell_state = tf.nest.pack_sequence_as(cell_state, tf.nest.flatten(next_cell_state))
        next_cell_state = tf.nest.map_structure(self._split, next_cell_state)
        if self.output_layer is not None:
            cell_outputs = self.output_layer(cell_outputs)
        output, next_state = beam_search_step(
            time=time,
            logits=cell_outputs,
            next_cell_state=next_cell_state,
            beam_state=state,
            batch_size=self._batch_size,
            beam_width=self.beam_width,
            end_token=self._end_token,
            length_penalty_weight=self.length_penalty_weight,
            coverage_penalty_weight=self.coverage_penalty_weight,
            output_all_scores=self.output_all_scores,
        )
        next_inputs = self._embed(output.predicted_ids)
        return output, next_state, next_inputs, next_state.finished

    def finalize(self, outputs, final_state, sequence_lengths):
        """Back-tracks the beams with `gather_tree`; reorders TensorArrays in the state."""
        del sequence_lengths
        max_lengths = tf.cast(tf.reduce_max(final_state.lengths, axis=1), tf.int32)
        predicted_ids = gather_tree(
            outputs.predicted_ids, outputs.parent_ids, max_lengths, self._end_token
        )
        if self.reorder_tensor_arrays:

            def sort(t):
                if not isinstance(t, tf.TensorArray):
                    return t
                stacked = t.stack()
                if stacked.shape.ndims is None or stacked.shape.ndims < 2:
                    return t
                return gather_tree_from_array(stacked, outputs.parent_ids, final_state.lengths)

            final_state = final_state._replace(
                cell_state=tf.nest.map_structure(sort, final_state.cell_state)
            )
        return FinalBeamSearchDecoderOutput(
            predicted_ids=predicted_ids, beam_search_decoder_output=outputs
        ), final_state

    def get_config(self):
        return {
            **super().get_config(),
            "cell": keras.saving.serialize_keras_object(self.cell),
            "beam_width": self.beam_width,
            "embedding_fn": serialize_callable(self.embedding_fn),
            "output_layer": keras.saving.serialize_keras_object(self.output_layer),
            "length_penalty_weight": self.length_penalty_weight,
            "coverage_penalty_weight": self.coverage_penalty_weight,
            "reorder_tensor_arrays": self.reorder_tensor_arrays,
            "output_all_scores": self.output_all_scores,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("cell", "output_layer"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        config["embedding_fn"] = deserialize_callable(config.get("embedding_fn"))
        return cls(**config)
