"""EmbeddingBag layer.

Replaces `tfa.layers.EmbeddingBag` (PyTorch's `nn.EmbeddingBag`). TFA fused
the gather and the sum in a C++/CUDA kernel; this one gathers with
`keras.ops.take` and reduces, so it runs on every backend but holds the
gathered `(..., bag, output_dim)` tensor in memory. Keras 3 core has no
equivalent.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_choice, check_int, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class EmbeddingBag(keras.layers.Layer):
    """Sums (or averages) the embeddings of each bag of indices, optionally weighted.

    `output[..., :] = combine_j(weights[..., j] * embeddings[indices[..., j]])`
    over the last axis of `indices`.

    Args:
        input_dim: Size of the vocabulary, an integer >= 1.
        output_dim: Size of each embedding, an integer >= 1.
        embeddings_initializer: Defaults to `"uniform"`.
        embeddings_regularizer, embeddings_constraint: For the embeddings.
        mask_zero: Kept for TFA's signature; as in TFA, it does not mask.
        combiner: `"sum"` (default) or `"mean"`. Weights need `"sum"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        indices: Integer tensor of rank >= 2; its last axis is the bag.
        weights: Optional float tensor of the shape of `indices`.

    Returns:
        `indices.shape[:-1] + (output_dim,)`.

    Example:

    >>> EmbeddingBag(10, 4)(np.array([[1, 2, 3]])).shape
    (1, 4)
    """

    def __init__(
        self,
        input_dim,
        output_dim,
        embeddings_initializer="uniform",
        embeddings_regularizer=None,
        embeddings_constraint=None,
        mask_zero=False,
        combiner="sum",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.input_dim = check_int("input_dim", input_dim, minimum=1)
        self.output_dim = check_int("output_dim", output_dim, minimum=1)
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)
        self.embeddings_regularizer = keras.regularizers.get(embeddings_regularizer)
        self.embeddings_constraint = keras.constraints.get(embeddings_constraint)
        check_bool("mask_zero", mask_zero)
        self.mask_zero = mask_zero
        self.combiner = check_choice("combiner", combiner, ("sum", "mean"))

    def build(self, input_shape):
        self.embeddings = self.add_weight(
            shape=(self.input_dim, self.output_dim),
            name="embeddings",
            initializer=self.embeddings_initializer,
            regularizer=self.embeddings_regularizer,
            constraint=self.embeddings_constraint,
        )

    def call(self, indices, weights=None):
        if len(indices.shape) < 2:
            raise invalid(
                "indices",
                "a tensor of rank >= 2 (the last axis is the bag)",
                f"rank {len(indices.shape)}",
            )
        gathered = ops.take(self.embeddings, ops.cast(indices, "int32"), axis=0)
        if weights is None:
            reduce = ops.sum if self.combiner == "sum" else ops.mean
            return reduce(gathered, axis=-2)
        if self.combiner != "sum":
            raise invalid(
                "weights", "None when combiner='mean' (weights need combiner='sum')", "a tensor"
            )
        weights = ops.cast(weights, gathered.dtype)
        return ops.sum(gathered * ops.expand_dims(weights, -1), axis=-2)

    def compute_output_shape(self, indices_shape, weights_shape=None):
        return tuple(indices_shape[:-1]) + (self.output_dim,)

    def get_config(self):
        return {
            **super().get_config(),
            "input_dim": self.input_dim,
            "output_dim": self.output_dim,
            "embeddings_initializer": keras.initializers.serialize(self.embeddings_initializer),
            "embeddings_regularizer": keras.regularizers.serialize(self.embeddings_regularizer),
            "embeddings_constraint": keras.constraints.serialize(self.embeddings_constraint),
            "mask_zero": self.mask_zero,
            "combiner": self.combiner,
        }
