"""TFA's remaining samplers: scheduled sampling for training, custom and inference samplers,
and the Bernoulli / categorical draws they use (`tfa.seq2seq.sampler.*`).

`keras.ops` and `keras.random` (seeded by `keras.random.SeedGenerator`): the samplers' math
runs on any backend; the decoders that drive them (`BasicDecoder`) need TensorFlow.
Where TFA gathers the sampled rows and scatters them back, these select rows with
`ops.where`: the same values for row-wise functions (an embedding, a next-inputs function
applied to each row), with static shapes.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.seq2seq.base_sampler import (
    Sampler,
    deserialize_callable,
    embedding_lookup,
    serialize_callable,
)
from tfx_ext.seq2seq.training_sampler import TrainingSampler


def _seed(name, seed):
    """An int seed (or None) as a SeedGenerator; a SeedGenerator as it is."""
    if seed is None or isinstance(seed, keras.random.SeedGenerator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise invalid(name, "an int, a keras.random.SeedGenerator or None", seed, TypeError)
    return keras.random.SeedGenerator(seed)


def _sample_shape(sample_shape):
    """`sample_shape` (an int or a sequence of ints) as a tuple."""
    if isinstance(sample_shape, int) and not isinstance(sample_shape, bool):
        return (sample_shape,)
    try:
        return tuple(int(s) for s in sample_shape)
    except TypeError:
        raise invalid(
            "sample_shape", "an int or a sequence of ints", sample_shape, TypeError
        ) from None


def _static_or_minus_one(shape):
    dims = [d if isinstance(d, int) else -1 for d in shape]
    if dims.count(-1) > 1:
        raise ValueError(
            f"At most one unknown batch dimension is supported, got shape {tuple(shape)}"
        )
    return tuple(dims)


def bernoulli_sample(probs=None, logits=None, dtype="int32", sample_shape=(), seed=None):
    """Draws from Bernoulli(probs) (or Bernoulli(sigmoid(logits))), TFA's function.

    Returns a tensor of shape `sample_shape + probs.shape` and `dtype` (1 / True where the
    draw succeeded). `seed`: an int, a `keras.random.SeedGenerator` or None.
    """
    if (probs is None) == (logits is None):
        raise ValueError("bernoulli_sample takes exactly one of probs and logits")
    probs = (
        ops.sigmoid(ops.convert_to_tensor(logits))
        if probs is None
        else ops.convert_to_tensor(probs)
    )
    shape = _sample_shape(sample_shape) + tuple(ops.shape(probs))
    uniform = keras.random.uniform(shape, dtype=probs.dtype, seed=_seed("seed", seed))
    return ops.cast(uniform < probs, dtype)


def categorical_sample(logits, dtype="int32", sample_shape=(), seed=None):
    """Draws class indices from softmax(logits) along the last axis, TFA's function.

    Returns a tensor of shape `sample_shape + logits.shape[:-1]` and `dtype`.
    """
    logits = ops.convert_to_tensor(logits)
    shape = _sample_shape(sample_shape)
    n = 1
    for size in shape:
        n *= size
    flat = ops.reshape(logits, (-1, logits.shape[-1]))
    draws = keras.random.categorical(flat, n, dtype="int32", seed=_seed("seed", seed))  # [rows, n]
    draws = ops.reshape(ops.transpose(draws), shape + _static_or_minus_one(logits.shape[:-1]))
    return ops.cast(draws, dtype)


def _per_sequence_choice(probability, outputs, seed):
    """One Bernoulli(probability) draw per batch row of `outputs` (bool `[batch]`)."""
    batch = ops.shape(outputs)[0]
    probability = ops.cast(probability, "float32")
    uniform = keras.random.uniform((batch,), dtype="float32", seed=seed)
    return uniform < probability


def _check_probability(sampling_probability):
    if isinstance(sampling_probability, keras.Variable):
        value = sampling_probability
    else:
        value = ops.convert_to_tensor(sampling_probability, dtype="float32")
    if len(value.shape) not in (0, 1):
        raise ValueError(
            f"sampling_probability must be either a scalar or a vector. saw shape: {tuple(value.shape)}"
        )
    return value


def _python_probability(value):
    """A config value: a float (or list) for a constant, the variable's value for a variable."""
    array = ops.convert_to_numpy(value)
    return array.item() if array.ndim == 0 else array.tolist()


@keras.saving.register_keras_serializable(package="tfx_ext")
class ScheduledEmbeddingTrainingSampler(TrainingSampler):
    """Teacher forcing with scheduled sampling (Bengio et al. 2015), TFA's sampler.

    At each step, each sequence reads the next target input with probability
    `1 - sampling_probability`, or else the embedding of an id drawn from its output
    logits. `sample_ids` are the drawn ids, -1 where the target was read.

    Args:
        sampling_probability: Scalar or `[batch]` probability of sampling (a
            `keras.Variable` to schedule it during training).
        embedding_fn: Callable mapping ids to embeddings (or pass `embedding=` to
            `initialize`).
        time_major: Whether the inputs are `[time, batch, ...]`.
        seed: Seed of the categorical draws (int, SeedGenerator or None).
        scheduling_seed: Seed of the sample-or-read decisions.

    Example:

    >>> sampler = ScheduledEmbeddingTrainingSampler(0.25, embedding_fn=embedding_layer, seed=1)
    """

    def __init__(
        self,
        sampling_probability,
        embedding_fn=None,
        time_major=False,
        seed=None,
        scheduling_seed=None,
    ):
        if embedding_fn is not None and not callable(embedding_fn):
            raise invalid("embedding_fn", "a callable or None", embedding_fn, TypeError)
        self.sampling_probability = _check_probability(sampling_probability)
        self.embedding_fn = embedding_fn
        self.seed, self.scheduling_seed = seed, scheduling_seed
        self._seed_generator = _seed("seed", seed)
        self._scheduling_seed_generator = _seed("scheduling_seed", scheduling_seed)
        super().__init__(time_major=time_major)

    @property
    def layers(self):
        return [self.embedding_fn] if isinstance(self.embedding_fn, keras.layers.Layer) else []

    def initialize(self, inputs, sequence_length=None, mask=None, embedding=None):
        if self.embedding_fn is not None:
            self._embed = self.embedding_fn
        elif embedding is None:
            raise ValueError(
                "embedding is required as a keyword argument for ScheduledEmbeddingTrainingSampler"
            )
        else:
            self._embed = embedding_lookup(embedding)
        return super().initialize(inputs, sequence_length=sequence_length, mask=mask)

    def sample(self, time, outputs, state):
        del time, state
        select = _per_sequence_choice(
            self.sampling_probability, outputs, self._scheduling_seed_generator
        )
        drawn = categorical_sample(outputs, seed=self._seed_generator)
        return ops.where(select, drawn, ops.full_like(drawn, -1))

    def next_inputs(self, time, outputs, state, sample_ids):
        finished, base_next_inputs, state = super().next_inputs(time, outputs, state, sample_ids)
        sampled = ops.cast(self._embed(ops.maximum(sample_ids, 0)), base_next_inputs.dtype)
        where = ops.reshape(sample_ids > -1, (-1,) + (1,) * (len(base_next_inputs.shape) - 1))
        return finished, ops.where(where, sampled, base_next_inputs), state

    def get_config(self):
        return {
            "sampling_probability": _python_probability(self.sampling_probability),
            "embedding_fn": serialize_callable(self.embedding_fn),
            "time_major": self.time_major,
            "seed": self.seed if not isinstance(self.seed, keras.random.SeedGenerator) else None,
            "scheduling_seed": (
                self.scheduling_seed
                if not isinstance(self.scheduling_seed, keras.random.SeedGenerator)
                else None
            ),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["embedding_fn"] = deserialize_callable(config.get("embedding_fn"))
        return cls(**config)


@keras.saving.register_keras_serializable(package="tfx_ext")
class ScheduledOutputTrainingSampler(TrainingSampler):
    """Teacher forcing with scheduled sampling of the outputs themselves, TFA's sampler.

    With probability `sampling_probability` a sequence's next input is its own output
    (through `next_inputs_fn` when given), else the next target input; `auxiliary_inputs`
    passed to `initialize` are concatenated to both. `sample_ids` are int32, 1 where the
    output was used, 0 elsewhere (as TFA's).

    Args:
        sampling_probability: Scalar or `[batch]` probability of using the output.
        time_major: Whether the inputs are `[time, batch, ...]`.
        seed: Seed of the decisions (int, SeedGenerator or None).
        next_inputs_fn: Optional callable mapping the outputs to next inputs (row-wise).

    Example:

    >>> sampler = ScheduledOutputTrainingSampler(0.5, seed=0)
    """

    def __init__(self, sampling_probability, time_major=False, seed=None, next_inputs_fn=None):
        if next_inputs_fn is not None and not callable(next_inputs_fn):
            raise invalid("next_inputs_fn", "a callable or None", next_inputs_fn, TypeError)
        self.sampling_probability = _check_probability(sampling_probability)
        self.seed = seed
        self._seed_generator = _seed("seed", seed)
        self.next_inputs_fn = next_inputs_fn
        super().__init__(time_major=time_major)

    def initialize(self, inputs, sequence_length=None, mask=None, auxiliary_inputs=None):
        self._auxiliary = None
        if auxiliary_inputs is not None:
            inputs = ops.convert_to_tensor(inputs)
            auxiliary = ops.cast(ops.convert_to_tensor(auxiliary_inputs), inputs.dtype)
            inputs = ops.concatenate([inputs, auxiliary], axis=-1)
            self._auxiliary = auxiliary if self.time_major else ops.moveaxis(auxiliary, 1, 0)
        return super().initialize(inputs, sequence_length=sequence_length, mask=mask)

    def sample(self, time, outputs, state):
        del time, state  # int32 0 / 1 draws, as TFA's (its sample ids dtype is int32)
        return ops.cast(
            _per_sequence_choice(self.sampling_probability, outputs, self._seed_generator), "int32"
        )

    def next_inputs(self, time, outputs, state, sample_ids):
        finished, base_next_inputs, state = super().next_inputs(time, outputs, state, sample_ids)
        sampled = outputs if self.next_inputs_fn is None else self.next_inputs_fn(outputs)
        if self._auxiliary is not None:
            last = ops.maximum(ops.shape(self._auxiliary)[0] - 1, 0)
            auxiliary = ops.take(self._auxiliary, ops.minimum(time + 1, last), axis=0)
            sampled = ops.concatenate([sampled, auxiliary], axis=-1)
        sampled = ops.cast(sampled, base_next_inputs.dtype)
        where = ops.reshape(
            ops.cast(sample_ids, "bool"), (-1,) + (1,) * (len(base_next_inputs.shape) - 1)
        )
        return finished, ops.where(where, sampled, base_next_inputs), state

    def get_config(self):
        return {
            "sampling_probability": _python_probability(self.sampling_probability),
            "time_major": self.time_major,
            "seed": self.seed if not isinstance(self.seed, keras.random.SeedGenerator) else None,
            "next_inputs_fn": serialize_callable(self.next_inputs_fn),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["next_inputs_fn"] = deserialize_callable(config.get("next_inputs_fn"))
        return cls(**config)


def _tensor_shape(shape):
    import tensorflow as tf  # TensorShape keeps tf.nest from reading shapes as structures

    return tf.TensorShape(shape)


def _check_callable(name, fn, optional=False):
    if (fn is None and not optional) or (fn is not None and not callable(fn)):
        raise invalid(name, "a callable" + (" or None" if optional else ""), fn, TypeError)
    return fn


class CustomSampler(Sampler):
    """A sampler made of three functions, TFA's `CustomSampler`.

    Args:
        initialize_fn: `(inputs, **kwargs) -> (finished, next_inputs)`.
        sample_fn: `(time=, outputs=, state=) -> sample_ids`.
        next_inputs_fn: `(time=, outputs=, state=, sample_ids=) -> (finished, next_inputs, next_state)`.
        sample_ids_shape: Shape of each sample id (default: scalar).
        sample_ids_dtype: Their dtype (default int32).

    Not serializable (it holds arbitrary functions), as TFA's.
    """

    def __init__(
        self, initialize_fn, sample_fn, next_inputs_fn, sample_ids_shape=None, sample_ids_dtype=None
    ):
        self._initialize_fn = _check_callable("initialize_fn", initialize_fn)
        self._sample_fn = _check_callable("sample_fn", sample_fn)
        self._next_inputs_fn = _check_callable("next_inputs_fn", next_inputs_fn)
        self._batch_size = None
        self._sample_ids_shape = _tensor_shape(sample_ids_shape or [])
        self._sample_ids_dtype = sample_ids_dtype or "int32"

    @property
    def sample_ids_shape(self):
        return self._sample_ids_shape

    @property
    def sample_ids_dtype(self):
        return self._sample_ids_dtype

    def initialize(self, inputs, **kwargs):
        finished, next_inputs = self._initialize_fn(inputs, **kwargs)
        if self._batch_size is None:
            self._batch_size = ops.size(finished)
        return finished, next_inputs

    def sample(self, time, outputs, state):
        return self._sample_fn(time=time, outputs=outputs, state=state)

    def next_inputs(self, time, outputs, state, sample_ids):
        return self._next_inputs_fn(time=time, outputs=outputs, state=state, sample_ids=sample_ids)


class InferenceSampler(Sampler):
    """An inference sampler with a custom sampling function, TFA's `InferenceSampler`.

    Args:
        sample_fn: `outputs -> sample_ids`.
        sample_shape: Shape of each sample (e.g. `()` for one id, `[k]` for k labels).
        sample_dtype: The samples' dtype.
        end_fn: `sample_ids -> bool [batch]`: which sequences end.
        next_inputs_fn: Optional `sample_ids -> next inputs` (default: the ids themselves).

    Not serializable (it holds arbitrary functions), as TFA's.
    """

    def __init__(self, sample_fn, sample_shape, sample_dtype, end_fn, next_inputs_fn=None):
        self.sample_fn = _check_callable("sample_fn", sample_fn)
        self.sample_shape = _tensor_shape(sample_shape)
        self.sample_dtype = sample_dtype
        self.end_fn = _check_callable("end_fn", end_fn)
        self.next_inputs_fn = _check_callable("next_inputs_fn", next_inputs_fn, optional=True)
        self._batch_size = None

    @property
    def sample_ids_shape(self):
        return self.sample_shape

    @property
    def sample_ids_dtype(self):
        return self.sample_dtype

    def initialize(self, start_inputs):
        self.start_inputs = ops.convert_to_tensor(start_inputs)
        self._batch_size = ops.shape(self.start_inputs)[0]
        return ops.zeros((self._batch_size,), dtype="bool"), self.start_inputs

    def sample(self, time, outputs, state):
        del time, state
        return self.sample_fn(outputs)

    def next_inputs(self, time, outputs, state, sample_ids):
        del time, outputs
        next_inputs = sample_ids if self.next_inputs_fn is None else self.next_inputs_fn(sample_ids)
        return self.end_fn(sample_ids), next_inputs, state
