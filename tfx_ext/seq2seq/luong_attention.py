"""Multiplicative attention: `LuongAttention` (TFA's `tfa.seq2seq.LuongAttention`)."""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int
from tfx_ext.seq2seq.attention_mechanism import AttentionMechanism


@keras.saving.register_keras_serializable(package="tfx_ext")
class LuongAttention(AttentionMechanism):
    """Luong-style (multiplicative) attention: `score = query . keys`, optionally scaled.

    Luong et al. 2015 (https://arxiv.org/abs/1508.04025). With `scale=True`
    a learned scalar `attention_g` (initialized to 1) multiplies the score.
    The keys are `memory_layer(memory)` (a `Dense(units, use_bias=False)`),
    so the query depth must equal `units`.

    Args:
        units: Positive int, the depth of the keys.
        memory: Optional `[batch, max_time, depth]` memory.
        memory_sequence_length: Optional int `[batch]`.
        scale: Whether to learn a scale of the score.
        probability_fn: `"softmax"` or `"hardmax"`.
        dtype: Layer dtype.
        name: Layer name.
        **kwargs: `memory_layer` (replaces the default Dense) and layer arguments.

    Call arguments:
        inputs: `[query, state]`: query `[batch, units]`, state `[batch, max_time]`.

    Returns:
        `(alignments, next_state)`, both `[batch, max_time]`.

    Example:

    >>> mechanism = LuongAttention(16, memory=encoder_outputs, memory_sequence_length=lengths)
    >>> alignments, _ = mechanism([query, previous_alignments])
    """

    def __init__(
        self,
        units,
        memory=None,
        memory_sequence_length=None,
        scale=False,
        probability_fn="softmax",
        dtype=None,
        name="LuongAttention",
        **kwargs,
    ):
        units = check_int("units", units, minimum=1)
        check_bool("scale", scale)
        memory_layer = kwargs.pop("memory_layer", None)
        kwargs.pop("query_layer", None)
        if memory_layer is None:
            memory_layer = keras.layers.Dense(
                units, name="memory_layer", use_bias=False, dtype=dtype
            )
        self.units = units
        self.scale = scale
        self.scale_weight = None
        super().__init__(
            memory=memory,
            memory_sequence_length=memory_sequence_length,
            query_layer=None,
            memory_layer=memory_layer,
            probability_fn=probability_fn,
            name=name,
            dtype=dtype,
            **kwargs,
        )
        if scale:
            self.scale_weight = self.add_weight(name="attention_g", shape=(), initializer="ones")

    def _calculate_attention(self, query, state):
        depth, key_units = query.shape[-1], self.keys.shape[-1]
        if depth != key_units:
            raise ValueError(
                "Incompatible or unknown inner dimensions between query and keys. "
                f"Query has units: {depth}. Keys have units: {key_units}. "
                f"Perhaps you need to set units to the keys' dimension ({key_units})?"
            )
        score = ops.squeeze(ops.matmul(query[:, None, :], ops.swapaxes(self.keys, 1, 2)), axis=1)
        if self.scale_weight is not None:
            score = ops.cast(self.scale_weight, score.dtype) * score
        alignments = self.probability_fn(score, state)
        return alignments, alignments

    def get_config(self):
        config = super().get_config()
        config.pop("query_layer", None)
        return {**config, "units": self.units, "scale": self.scale}
