"""Greedy decoding: `GreedyEmbeddingSampler` (TFA's `tfa.seq2seq.GreedyEmbeddingSampler`)."""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.seq2seq.base_sampler import (
    Sampler,
    deserialize_callable,
    embedding_lookup,
    serialize_callable,
)


@keras.saving.register_keras_serializable(package="tfx_ext")
class GreedyEmbeddingSampler(Sampler):
    """An inference sampler that feeds back the argmax of the output distribution.

    Args:
        embedding_fn: Optional callable from int ids to the next inputs (for
            example a `keras.layers.Embedding`); by default rows of the
            `embedding` matrix given to `initialize`.

    Example:

    >>> sampler = GreedyEmbeddingSampler()
    >>> decoder = BasicDecoder(cell, sampler, output_layer=dense, maximum_iterations=20)
    >>> outputs, _, lengths = decoder(
    ...     embedding_matrix, start_tokens=starts, end_token=eos, initial_state=state)
    """

    def __init__(self, embedding_fn=None):
        if embedding_fn is not None and not callable(embedding_fn):
            raise invalid("embedding_fn", "a callable or None", embedding_fn, TypeError)
        self.embedding_fn = embedding_fn
        self._batch_size = None

    @property
    def layers(self):
        """`[embedding_fn]` when it is a layer: the owning decoder saves its weights."""
        return [self.embedding_fn] if isinstance(self.embedding_fn, keras.layers.Layer) else []

    def initialize(self, embedding, start_tokens=None, end_token=None):
        """Embeds `start_tokens`; returns `(finished, start_inputs)`.

        Args:
            embedding: The embedding matrix (ignored when `embedding_fn` is set).
            start_tokens: int vector `[batch_size]`.
            end_token: int scalar.
        """
        if self.embedding_fn is not None:
            self._embed = self.embedding_fn
        elif embedding is None:
            raise ValueError(
                "You should either pass an embedding matrix to initialize or set "
                "embedding_fn in the constructor."
            )
        else:
            self._embed = embedding_lookup(embedding)
        if start_tokens is None or end_token is None:
            raise ValueError("start_tokens and end_token are required.")
        self.start_tokens = ops.cast(ops.convert_to_tensor(start_tokens), "int32")
        self.end_token = ops.cast(ops.convert_to_tensor(end_token), "int32")
        if len(self.start_tokens.shape) != 1:
            raise ValueError("start_tokens must be a vector")
        if len(self.end_token.shape) != 0:
            raise ValueError("end_token must be a scalar")
        self._batch_size = ops.shape(self.start_tokens)[0]
        self.start_inputs = self._embed(self.start_tokens)
        finished = ops.zeros((self._batch_size,), dtype="bool")
        return finished, self.start_inputs

    def sample(self, time, outputs, state):
        del time, state
        return ops.cast(ops.argmax(outputs, axis=-1), "int32")

    def next_inputs(self, time, outputs, state, sample_ids):
        del time, outputs
        finished = ops.equal(sample_ids, self.end_token)
        # Once every sequence is finished the loop stops; the inputs computed
        # here are never read, so no cond on "all finished" is needed.
        return finished, self._embed(sample_ids), state

    def get_config(self):
        return {"embedding_fn": serialize_callable(self.embedding_fn)}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["embedding_fn"] = deserialize_callable(config.get("embedding_fn"))
        return cls(**config)
