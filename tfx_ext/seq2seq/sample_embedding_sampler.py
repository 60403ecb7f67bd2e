"""Sampling decoding: `SampleEmbeddingSampler` (TFA's `tfa.seq2seq.SampleEmbeddingSampler`)."""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number, invalid
from tfx_ext.seq2seq.base_sampler import deserialize_callable, serialize_callable
from tfx_ext.seq2seq.greedy_embedding_sampler import GreedyEmbeddingSampler


@keras.saving.register_keras_serializable(package="tfx_ext")
class SampleEmbeddingSampler(GreedyEmbeddingSampler):
    """An inference sampler that draws the next id from the output distribution.

    Args:
        embedding_fn: As in `GreedyEmbeddingSampler`.
        softmax_temperature: Optional float > 0 dividing the logits (above 1:
            more random; below 1: closer to greedy). Default 1.
        seed: Optional int seed. A `keras.random.SeedGenerator` advances it
            at each step, so steps draw different samples.

    Example:

    >>> sampler = SampleEmbeddingSampler(softmax_temperature=0.7, seed=0)
    """

    def __init__(self, embedding_fn=None, softmax_temperature=None, seed=None):
        super().__init__(embedding_fn)
        if softmax_temperature is not None:
            check_number("softmax_temperature", softmax_temperature, low=0, low_open=True)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise invalid("seed", "an int or None", seed, TypeError)
        self.softmax_temperature = softmax_temperature
        self.seed = seed
        self._seed_generator = keras.random.SeedGenerator(seed)

    def sample(self, time, outputs, state):
        del time, state
        logits = outputs if self.softmax_temperature is None else outputs / self.softmax_temperature
        ids = keras.random.categorical(logits, 1, seed=self._seed_generator, dtype="int32")
        return ops.reshape(ids, (-1,))

    def get_config(self):
        return {
            "embedding_fn": serialize_callable(self.embedding_fn),
            "softmax_temperature": self.softmax_temperature,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["embedding_fn"] = deserialize_callable(config.get("embedding_fn"))
        return cls(**config)
