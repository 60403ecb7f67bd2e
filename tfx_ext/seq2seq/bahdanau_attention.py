"""Additive attention: `BahdanauAttention` (TFA's `tfa.seq2seq.BahdanauAttention`)."""

import math

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int
from tfx_ext.seq2seq.attention_mechanism import AttentionMechanism


@keras.saving.register_keras_serializable(package="tfx_ext")
class BahdanauAttention(AttentionMechanism):
    """Bahdanau-style (additive) attention: `score = v . tanh(keys + W query)`.

    Bahdanau et al. 2015 (https://arxiv.org/abs/1409.0473). With
    `normalize=True`, the weight-normalized form (Salimans & Kingma 2016):
    `v` is replaced by `g * v / ||v||` (scalar `g` initialized to
    `sqrt(1 / units)`) and a bias `b` is added inside the tanh.

    Args:
        units: Positive int, the depth of the query/key projections.
        memory: Optional `[batch, max_time, depth]` memory.
        memory_sequence_length: Optional int `[batch]`.
        normalize: Whether to use the normalized form.
        probability_fn: `"softmax"` or `"hardmax"`.
        kernel_initializer: Initializer of `attention_v`.
        dtype: Layer dtype.
        name: Layer name.
        **kwargs: `query_layer` / `memory_layer` (replace the default
            Dense layers) and layer arguments.

    Call arguments:
        inputs: `[query, state]`.

    Returns:
        `(alignments, next_state)`, both `[batch, max_time]`.

    Example:

    >>> mechanism = BahdanauAttention(16, normalize=True)
    >>> mechanism.setup_memory(encoder_outputs, memory_sequence_length=lengths)
    """

    def __init__(
        self,
        units,
        memory=None,
        memory_sequence_length=None,
        normalize=False,
        probability_fn="softmax",
        kernel_initializer="glorot_uniform",
        dtype=None,
        name="BahdanauAttention",
        **kwargs,
    ):
        units = check_int("units", units, minimum=1)
        check_bool("normalize", normalize)
        query_layer = kwargs.pop("query_layer", None) or keras.layers.Dense(
            units, name="query_layer", use_bias=False, dtype=dtype
        )
        memory_layer = kwargs.pop("memory_layer", None) or keras.layers.Dense(
            units, name="memory_layer", use_bias=False, dtype=dtype
        )
        self.units = units
        self.normalize = normalize
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.attention_v = None
        self.attention_g = None
        self.attention_b = None
        super().__init__(
            memory=memory,
            memory_sequence_length=memory_sequence_length,
            query_layer=query_layer,
            memory_layer=memory_layer,
            probability_fn=probability_fn,
            name=name,
            dtype=dtype,
            **kwargs,
        )
        self._create_weights()

    def _create_weights(self):
        self.attention_v = self.add_weight(
            name="attention_v", shape=(self.units,), initializer=self.kernel_initializer
        )
        if self.normalize:
            self.attention_g = self.add_weight(
                name="attention_g",
                shape=(),
                initializer=keras.initializers.Constant(math.sqrt(1.0 / self.units)),
            )
            self.attention_b = self.add_weight(
                name="attention_b", shape=(self.units,), initializer="zeros"
            )

    def _calculate_attention(self, query, state):
        processed_query = self.query_layer(query) if self.query_layer is not None else query
        processed_query = processed_query[:, None, :]
        v = ops.cast(self.attention_v, self.keys.dtype)
        if self.normalize:
            g = ops.cast(self.attention_g, v.dtype)
            b = ops.cast(self.attention_b, v.dtype)
            normed_v = g * v * ops.rsqrt(ops.sum(ops.square(v)))
            score = ops.sum(normed_v * ops.tanh(self.keys + processed_query + b), axis=2)
        else:
            score = ops.sum(v * ops.tanh(self.keys + processed_query), axis=2)
        alignments = self.probability_fn(score, state)
        return alignments, alignments

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "normalize": self.normalize,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
        }
