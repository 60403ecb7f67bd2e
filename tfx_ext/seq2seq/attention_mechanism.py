"""`AttentionMechanism`: the memory-holding base of Luong and Bahdanau attention (TFA's)."""

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import invalid


def hardmax(logits, name=None):
    """One-hot of the argmax of `logits` along the last axis."""
    del name
    logits = ops.convert_to_tensor(logits)
    return ops.one_hot(ops.argmax(logits, axis=-1), ops.shape(logits)[-1], dtype=logits.dtype)


PROBABILITY_FNS = {"softmax": lambda score: ops.softmax(score, axis=-1), "hardmax": hardmax}


def sequence_mask(lengths, maxlen):
    return ops.arange(maxlen)[None, :] < ops.cast(lengths, "int32")[:, None]


class AttentionMechanism(keras.layers.Layer):
    """Base class of attention mechanisms: stores the (masked) memory and its keys.

    As in TFA the memory is set up once per batch, by the constructor's
    `memory` argument or by `setup_memory(memory, memory_sequence_length)`
    (or `mechanism(memory, setup_memory=True)`); then
    `mechanism([query, state])` returns `(alignments, next_state)`. Set the
    memory inside the model's `call` (a subclassed model), so each batch's
    encoder output is used.

    Args:
        memory: Optional `[batch, max_time, depth]` memory (encoder outputs).
        probability_fn: `"softmax"` or `"hardmax"`.
        query_layer: Optional layer applied to the query.
        memory_layer: Optional layer giving the keys from the memory.
        memory_sequence_length: Optional int `[batch]`: memory entries past
            it are zeroed and get no attention.
        **kwargs: Layer arguments.
    """

    def __init__(
        self,
        memory=None,
        probability_fn="softmax",
        query_layer=None,
        memory_layer=None,
        memory_sequence_length=None,
        **kwargs,
    ):
        if probability_fn not in PROBABILITY_FNS:
            raise invalid("probability_fn", "one of 'softmax', 'hardmax'", probability_fn)
        for name, layer in (("query_layer", query_layer), ("memory_layer", memory_layer)):
            if layer is not None and not isinstance(layer, keras.layers.Layer):
                raise invalid(name, "a Keras layer or None", layer, TypeError)
        super().__init__(**kwargs)
        self.probability_fn_name = probability_fn
        self.query_layer = query_layer
        self.memory_layer = memory_layer
        self.keys = None
        self.values = None
        self.batch_size = None
        self._alignments_size = None
        self._memory_mask = None
        self._memory_initialized = False
        self._allow_non_tensor_positional_args = True
        self.built = True
        if memory is not None:
            self.setup_memory(memory, memory_sequence_length=memory_sequence_length)

    @property
    def memory_initialized(self):
        """Whether a memory has been set up."""
        return self._memory_initialized

    def __call__(self, inputs, **kwargs):
        if kwargs.pop("setup_memory", False):
            mask = kwargs.pop("mask", None)
            if isinstance(inputs, (list, tuple)):
                if len(inputs) not in (1, 2):
                    raise ValueError(f"Expect inputs to have 1 or 2 tensors, got {len(inputs)}")
                memory = inputs[0]
                lengths = inputs[1] if len(inputs) == 2 else None
            else:
                memory, lengths = inputs, None
            self.setup_memory(memory, memory_sequence_length=lengths, memory_mask=mask)
            return self.values
        if not self._memory_initialized:
            raise ValueError("Cannot query the attention before the setup of memory")
        if not isinstance(inputs, (list, tuple)) or len(inputs) not in (2, 3):
            raise ValueError(
                "Expect the inputs to have query, state, and optional processed memory"
            )
        with keras.name_scope(self.name, caller=self):
            return self.call(list(inputs), **kwargs)

    def build(self, input_shape):
        """TFA's two-phase build: the memory layer before a memory is set, the query side after.

        The mechanism's own weights are created in `__init__` (their shapes
        are known there); the query and memory layers build when first
        called, or here, so that `set_weights` can run before a first call.
        """
        if not self._memory_initialized:
            shape = input_shape[0] if isinstance(input_shape, list) else input_shape
            if self.memory_layer is not None and not self.memory_layer.built:
                self.memory_layer.build(shape)
        else:
            if self.query_layer is not None and not self.query_layer.built:
                self.query_layer.build(input_shape[0])
        self.built = True

    def call(self, inputs, **kwargs):
        query, state = inputs[0], inputs[1]
        return self._calculate_attention(query, state)

    def setup_memory(self, memory, memory_sequence_length=None, memory_mask=None):
        """Masks and stores `memory` (the values) and computes its keys.

        Args:
            memory: `[batch, max_time, depth]`.
            memory_sequence_length: Optional int `[batch]`, all > 0.
            memory_mask: Optional bool `[batch, max_time]` (instead of lengths).
        """
        if memory_sequence_length is not None and memory_mask is not None:
            raise ValueError(
                "memory_sequence_length and memory_mask cannot be used at same time for attention."
            )
        memory = ops.convert_to_tensor(memory, dtype=self.compute_dtype)
        if len(memory.shape) < 3 or any(d is None for d in memory.shape[2:]):
            raise invalid(
                "memory",
                "a [batch, max_time, depth] tensor with a known depth",
                tuple(memory.shape),
            )
        max_time = ops.shape(memory)[1]
        mask = None
        if memory_sequence_length is not None:
            lengths = ops.cast(ops.convert_to_tensor(memory_sequence_length), "int32")
            if keras.backend.backend() == "tensorflow":
                import tensorflow as tf  # a runtime check that also works in graphs

                tf.debugging.assert_positive(
                    lengths, message="All values in memory_sequence_length must greater than zero."
                )
            mask = sequence_mask(lengths, max_time)
        elif memory_mask is not None:
            mask = ops.cast(ops.convert_to_tensor(memory_mask), "bool")
        if mask is not None:
            memory = memory * ops.cast(mask, memory.dtype)[:, :, None]
        self.values = memory
        self.keys = self.memory_layer(memory) if self.memory_layer is not None else memory
        self.batch_size = (
            self.keys.shape[0] if self.keys.shape[0] is not None else ops.shape(self.keys)[0]
        )
        self._alignments_size = (
            self.keys.shape[1] if self.keys.shape[1] is not None else ops.shape(self.keys)[1]
        )
        self._memory_mask = mask
        self._memory_initialized = True

    def probability_fn(self, score, state):
        """Masks scores past the memory lengths, then softmax/hardmax."""
        del state
        if self._memory_mask is not None:
            lowest = keras.ops.convert_to_tensor(float(_lowest(score.dtype)), dtype=score.dtype)
            score = ops.where(self._memory_mask, score, lowest)
        return PROBABILITY_FNS[self.probability_fn_name](score)

    def _calculate_attention(self, query, state):
        raise NotImplementedError

    @property
    def alignments_size(self):
        return self._alignments_size if isinstance(self._alignments_size, int) else None

    @property
    def state_size(self):
        return self.alignments_size

    def initial_alignments(self, batch_size, dtype):
        """Zeros `[batch_size, memory_time]`."""
        return ops.zeros((batch_size, self._alignments_size), dtype=dtype)

    def initial_state(self, batch_size, dtype):
        return self.initial_alignments(batch_size, dtype)

    def get_config(self):
        return {
            **super().get_config(),
            "probability_fn": self.probability_fn_name,
            "query_layer": _unbuilt_config(self.query_layer),
            "memory_layer": _unbuilt_config(self.memory_layer),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        for key in ("query_layer", "memory_layer"):
            if config.get(key) is not None:
                config[key] = keras.saving.deserialize_keras_object(config[key])
        return cls(**config)


def _unbuilt_config(layer):
    """The layer's serialized config without its build config: the mechanism builds it (TFA's phases)."""
    if layer is None:
        return None
    config = keras.saving.serialize_keras_object(layer)
    config.pop("build_config", None)
    return config


def _lowest(dtype):
    return np.finfo(keras.backend.standardize_dtype(dtype)).min
