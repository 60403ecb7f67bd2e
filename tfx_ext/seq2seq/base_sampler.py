"""The sampler protocol of `BasicDecoder` (TFA's `tfa.seq2seq.Sampler`).

The base class lives here, apart from `sampler.py` (TFA's module path, which
also holds the concrete samplers), so the samplers can import it without a cycle.
"""

import keras
from keras import ops


class Sampler:
    """How a `BasicDecoder` picks ids and builds the next step's inputs.

    A sampler is a plain object (not a layer: it owns no weights), made
    serializable through `get_config`/`from_config`. The decoder calls:

    - `initialize(inputs, **kwargs) -> (finished, first_inputs)` once;
    - `sample(time, outputs, state) -> sample_ids` each step;
    - `next_inputs(time, outputs, state, sample_ids)
      -> (finished, next_inputs, next_state)` each step.

    and reads `batch_size`, `sample_ids_shape` and `sample_ids_dtype`.

    A sampler that calls a layer (an `embedding_fn` that is a
    `keras.layers.Embedding`) lists it in `layers`: neither Keras nor
    `tf.train.Checkpoint` walks into a plain object, so the decoder that
    owns the sampler tracks those layers and saves their weights.
    """

    _batch_size = None

    @property
    def batch_size(self):
        if self._batch_size is None:
            raise ValueError("batch_size accessed before initialize was called")
        return self._batch_size

    @property
    def sample_ids_shape(self):
        import tensorflow as tf  # TensorShape keeps tf.nest from reading shapes as structures

        return tf.TensorShape([])

    @property
    def sample_ids_dtype(self):
        return "int32"

    @property
    def layers(self):
        """The Keras layers this sampler calls, for its decoder to track (none here)."""
        return []

    def initialize(self, inputs, **kwargs):
        raise NotImplementedError

    def sample(self, time, outputs, state):
        raise NotImplementedError

    def next_inputs(self, time, outputs, state, sample_ids):
        raise NotImplementedError

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def serialize_callable(fn):
    """Layers and registered functions serialize; `None` stays `None`."""
    return None if fn is None else keras.saving.serialize_keras_object(fn)


def deserialize_callable(config):
    if config is None or callable(config):
        return config
    return keras.saving.deserialize_keras_object(config)


def embedding_lookup(embedding):
    """A function mapping ids to rows of `embedding` (a matrix or variable)."""
    return lambda ids: ops.take(embedding, ids, axis=0)
